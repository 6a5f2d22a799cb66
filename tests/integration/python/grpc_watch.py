"""One gRPC Watch stream through the proxy, reported line by line.

Usage: grpc_watch.py PORT CA CERT KEY WATCH_KEY MAX_EVENTS SECONDS

Opens a Watch stream with grpcio (python3-etcd3's own generated stubs),
creates a watch on WATCH_KEY and prints, flushing each line:
  created <watch_id> canceled=<0|1>   for every created answer
  event <key> <value>                 for every event
  status <CODE_NAME> <details>        when the stream ends with a status
  done                                after MAX_EVENTS events
Exits after SECONDS in any case (prints "timeout").
"""
import queue
import signal
import sys

import grpc
import etcd3.etcdrpc as etcdrpc


def main():
    port, ca, cert, key, watch_key, max_events, seconds = sys.argv[1:8]
    max_events, seconds = int(max_events), int(seconds)

    def give_up(*_):
        print("timeout", flush=True)
        sys.exit(3)

    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    read = lambda path: open(path, "rb").read() if path != "-" else None
    credentials = grpc.ssl_channel_credentials(read(ca), read(key), read(cert))
    channel = grpc.secure_channel("localhost:" + port, credentials)
    requests = queue.Queue()
    requests.put(etcdrpc.WatchRequest(
        create_request=etcdrpc.WatchCreateRequest(key=watch_key.encode())))

    def request_iterator():
        while True:
            item = requests.get()
            if item is None:
                return
            yield item

    stub = etcdrpc.WatchStub(channel)
    events = 0
    try:
        for response in stub.Watch(request_iterator()):
            if response.created:
                print("created %d canceled=%d" % (response.watch_id, int(response.canceled)),
                      flush=True)
            for event in response.events:
                print("event %s %s" % (event.kv.key.decode(), event.kv.value.decode()), flush=True)
                events += 1
            if events >= max_events:
                print("done", flush=True)
                requests.put(None)
                return
    except grpc.RpcError as error:
        print("status %s %s" % (error.code().name, error.details()), flush=True)
        return
    print("status OK", flush=True)


main()

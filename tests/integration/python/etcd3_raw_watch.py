#!/usr/bin/python3
"""One gRPC Watch stream, driven with python-etcd3's generated stubs.

Usage: etcd3_raw_watch.py HOST PORT CA CERT KEY DIRECT_PORT KEY...
Opens one Watch stream through HOST:PORT (TLS, CA, client certificate
CERT/KEY, which may be "") and sends a create for each KEY, in order, each
once the answer to the one before has arrived; then writes "value-<i>" to
each KEY in the same order, straight to etcd's plaintext port
127.0.0.1:DIRECT_PORT (a second client, not through the proxy); then reads
until every watch etcd created (id >= 0) got an event, at most 15 s, and
1 s more for strays. Unlike etcd3_watch.py it sees every WatchResponse, of
every watch id. Prints one JSON line per WatchResponse, in arrival order,
fields sorted:
  {"cancel_reason": TEXT, "canceled": BOOL, "created": BOOL,
   "events": [[TYPE, KEY, VALUE], ...], "watch_id": ID}
and {"error": TEXT} if the stream fails.
"""
import json
import queue
import sys
import threading
import time

import etcd3
import etcd3.etcdrpc as etcdrpc


def main():
    host, port, ca, cert, key, direct_port = sys.argv[1:7]
    keys = sys.argv[7:]
    client = etcd3.client(host=host, port=int(port), ca_cert=ca,
                          cert_cert=cert or None, cert_key=key or None,
                          timeout=10)
    requests = queue.Queue()
    received = queue.Queue()

    def request_iterator():
        while True:
            request = requests.get()
            if request is None:
                return
            yield request

    stream = etcdrpc.WatchStub(client.channel).Watch(request_iterator(),
                                                     timeout=40)

    def read():
        try:
            for response in stream:
                received.put(response)
        except Exception as error:  # the stream's end, or its failure
            received.put(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    lines = []
    created_ids = []
    with_events = set()

    def take(timeout):
        """Takes one response; False when none came within `timeout`."""
        try:
            response = received.get(timeout=max(timeout, 0))
        except queue.Empty:
            return False
        if isinstance(response, Exception):
            if not stream.cancelled():
                lines.append({'error': repr(response)})
            return True
        events = [[event.DESCRIPTOR.fields_by_name['type'].enum_type
                   .values_by_number[event.type].name,
                   event.kv.key.decode('utf-8'),
                   event.kv.value.decode('utf-8')]
                  for event in response.events]
        lines.append({'watch_id': response.watch_id,
                      'created': response.created,
                      'canceled': response.canceled,
                      'cancel_reason': response.cancel_reason,
                      'events': events})
        if response.created and response.watch_id >= 0:
            created_ids.append(response.watch_id)
        if events:
            with_events.add(response.watch_id)
        return True

    for watched in keys:
        create = etcdrpc.WatchCreateRequest(key=watched.encode('utf-8'))
        requests.put(etcdrpc.WatchRequest(create_request=create))
        answers = len(lines)
        deadline = time.monotonic() + 10
        while len(lines) == answers and take(deadline - time.monotonic()):
            pass

    direct = etcd3.client(host='127.0.0.1', port=int(direct_port), timeout=10)
    for i, watched in enumerate(keys):
        direct.put(watched, 'value-%d' % i)
    direct.close()

    deadline = time.monotonic() + 15
    while not set(created_ids) <= with_events:
        if not take(deadline - time.monotonic()):
            break
    strays_until = time.monotonic() + 1
    while take(strays_until - time.monotonic()):
        pass

    for line in lines:
        print(json.dumps(line, sort_keys=True), flush=True)
    requests.put(None)
    stream.cancel()
    client.close()


if __name__ == '__main__':
    main()

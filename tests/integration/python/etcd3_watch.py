#!/usr/bin/python3
"""Several watches on one python-etcd3 client (one gRPC Watch stream).

Usage: etcd3_watch.py HOST PORT CA CERT KEY DIRECT_PORT KEY...
Watches each KEY, in the order given, through HOST:PORT (TLS, CA, client
certificate CERT/KEY, which may be ""); then writes "value-<i>" to each KEY
in the same order, straight to etcd's plaintext port 127.0.0.1:DIRECT_PORT
(a second client, not through the proxy); then waits (at most 15 s) until
every watch with an id >= 0 got its event, and 1 s more for strays.
Prints one JSON object per line,
  {"key": KEY, "step": "watch", "watch_id": ID}        one per KEY
  {"key": KEY, "revision": REV, "step": "put"}          one per KEY
  {"errors": [TEXT, ...], "events": [[TYPE, KEY, VALUE], ...], "key": KEY,
   "step": "events"}                                    one per KEY
(fields sorted, as json.dumps(sort_keys=True) writes them).
"""
import json
import sys
import threading
import time

import etcd3


def main():
    host, port, ca, cert, key, direct_port = sys.argv[1:7]
    keys = sys.argv[7:]
    client = etcd3.client(host=host, port=int(port), ca_cert=ca,
                          cert_cert=cert or None, cert_key=key or None,
                          timeout=10)
    lock = threading.Lock()
    changed = threading.Condition(lock)
    events = {k: [] for k in keys}
    errors = {k: [] for k in keys}

    def callback_for(watched):
        def callback(response):
            with changed:
                if isinstance(response, Exception):
                    errors[watched].append(repr(response))
                else:
                    for event in response.events:
                        events[watched].append([
                            type(event).__name__,
                            event.key.decode('utf-8'),
                            event.value.decode('utf-8')])
                changed.notify_all()
        return callback

    ids = {}
    for watched in keys:
        ids[watched] = client.add_watch_callback(watched,
                                                 callback_for(watched))
        print(json.dumps({'step': 'watch', 'key': watched,
                          'watch_id': ids[watched]}, sort_keys=True),
              flush=True)

    direct = etcd3.client(host='127.0.0.1', port=int(direct_port), timeout=10)
    for i, watched in enumerate(keys):
        response = direct.put(watched, 'value-%d' % i)
        print(json.dumps({'step': 'put', 'key': watched,
                          'revision': response.header.revision},
                         sort_keys=True), flush=True)

    deadline = time.monotonic() + 15
    with changed:
        while any(ids[k] >= 0 and not events[k] for k in keys):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            changed.wait(left)
    time.sleep(1)
    with lock:
        for watched in keys:
            print(json.dumps({'step': 'events', 'key': watched,
                              'events': events[watched],
                              'errors': errors[watched]}, sort_keys=True),
                  flush=True)
    direct.close()
    client.close()


if __name__ == '__main__':
    main()

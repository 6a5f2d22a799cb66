#!/usr/bin/python3
"""Runs a list of python-etcd3 calls against one endpoint, one client.

Usage: etcd3_steps.py HOST PORT CA CERT KEY STEPS_JSON [USER PASSWORD]
CERT and KEY may be "" (no client certificate). With USER and PASSWORD the
client logs in (etcd3.client(user=, password=)); a refused login prints
{"code": ..., "details": ..., "ok": false, "step": "login"} and exits 0.
STEPS_JSON is a JSON list;
each step is a list:
  ["put", key, value]
  ["get", key]
  ["get_prefix", prefix]
  ["delete", key]
  ["delete_prefix", prefix]
  ["txn_value_equals", compare_key, compare_value,
   [[success_put_key, value], ...], [[failure_put_key, value], ...]]
Prints one JSON object per step, on its own line, fields sorted (as
json.dumps(sort_keys=True) writes them):
  {...result fields..., "ok": true, "step": NAME}
  {"code": "PERMISSION_DENIED", "details": "...", "ok": false, "step": NAME}
Exits 0 once every step ran (refused or not), non-zero on anything else.
"""
import json
import sys

import etcd3
import grpc


def text(value):
    return None if value is None else value.decode('utf-8')


def run(client, step):
    name = step[0]
    if name == 'put':
        client.put(step[1], step[2])
        return {}
    if name == 'get':
        value, _ = client.get(step[1])
        return {'value': text(value)}
    if name == 'get_prefix':
        pairs = [[text(meta.key), text(value)]
                 for value, meta in client.get_prefix(step[1])]
        return {'pairs': sorted(pairs)}
    if name == 'delete':
        return {'deleted': client.delete(step[1])}
    if name == 'delete_prefix':
        return {'deleted': client.delete_prefix(step[1]).deleted}
    if name == 'txn_value_equals':
        ops = client.transactions
        succeeded, _ = client.transaction(
            compare=[ops.value(step[1]) == step[2]],
            success=[ops.put(key, value) for key, value in step[3]],
            failure=[ops.put(key, value) for key, value in step[4]])
        return {'succeeded': succeeded}
    raise ValueError('unknown step %r' % (name,))


def main():
    host, port, ca, cert, key, steps = sys.argv[1:7]
    user, password = (sys.argv[7], sys.argv[8]) if len(sys.argv) > 8 else (None, None)
    try:
        client = etcd3.client(host=host, port=int(port), ca_cert=ca,
                              cert_cert=cert or None, cert_key=key or None,
                              timeout=10, user=user, password=password)
    except grpc.RpcError as error:
        print(json.dumps({'step': 'login', 'ok': False, 'code': error.code().name,
                          'details': error.details()}, sort_keys=True), flush=True)
        return
    for step in json.loads(steps):
        try:
            result = {'step': step[0], 'ok': True}
            result.update(run(client, step))
        except grpc.RpcError as error:
            result = {'step': step[0], 'ok': False,
                      'code': error.code().name, 'details': error.details()}
        print(json.dumps(result, sort_keys=True), flush=True)
    client.close()


if __name__ == '__main__':
    main()

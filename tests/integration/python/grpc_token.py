#!/usr/bin/python3
"""Logs in and calls with explicit tokens, through grpcio and python-etcd3's
generated stubs, so tests can send forged, expired and repeated tokens.

Usage: grpc_token.py PORT CA CERT KEY STEPS_JSON
CERT and KEY may be "" (no client certificate). Steps:
  ["login", user, password]      Auth/Authenticate; keeps the token
  ["put", key, value, TOKENS]    KV/Put with each of TOKENS as `token` metadata
  ["range", key, TOKENS]         KV/Range, the same way
  ["connect", port]              later steps go to localhost:PORT (another proxy)
  ["sleep", seconds]             waits (lets a token expire)
  ["wait_file", path]            waits (at most 20 s) until `path` exists
TOKENS is a list; "$login" stands for the last token the login step got.
Prints one JSON line per step, fields sorted:
  {"ok": true, "step": ..., ...}   (login: "token_prefix", range: "value")
  {"code": "UNAUTHENTICATED", "details": ..., "ok": false, "step": ...}
Never prints a whole token.
"""
import json
import os
import sys
import time

import grpc
import etcd3.etcdrpc as etcdrpc


def main():
    port, ca, cert, key, steps = sys.argv[1:6]
    read = lambda path: open(path, 'rb').read() if path else None
    credentials = grpc.ssl_channel_credentials(read(ca), read(key), read(cert))
    token = ''

    def connect(to):
        channel = grpc.secure_channel('localhost:' + str(to), credentials)
        return etcdrpc.AuthStub(channel), etcdrpc.KVStub(channel)

    auth, kv = connect(port)
    for step in json.loads(steps):
        name = step[0]
        result = {'step': name, 'ok': True}
        try:
            if name == 'connect':
                auth, kv = connect(step[1])
            elif name == 'sleep':
                time.sleep(step[1])
            elif name == 'wait_file':
                for _ in range(200):
                    if os.path.exists(step[1]):
                        break
                    time.sleep(0.1)
                result['ok'] = os.path.exists(step[1])
            elif name == 'login':
                response = auth.Authenticate(
                    etcdrpc.AuthenticateRequest(name=step[1], password=step[2]), timeout=10)
                token = response.token
                result['token_prefix'] = token[:5]
            else:
                tokens = step[-1]
                metadata = [('token', token if t == '$login' else t) for t in tokens]
                if name == 'put':
                    kv.Put(etcdrpc.PutRequest(key=step[1].encode(), value=step[2].encode()),
                           metadata=metadata, timeout=10)
                elif name == 'range':
                    response = kv.Range(etcdrpc.RangeRequest(key=step[1].encode()),
                                        metadata=metadata, timeout=10)
                    result['value'] = (response.kvs[0].value.decode()
                                       if response.kvs else None)
                else:
                    raise ValueError('unknown step %r' % (name,))
        except grpc.RpcError as error:
            result = {'step': name, 'ok': False, 'code': error.code().name,
                      'details': error.details()}
        print(json.dumps(result, sort_keys=True), flush=True)


main()

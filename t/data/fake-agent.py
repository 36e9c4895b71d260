#!/usr/bin/python3
#
# A FAKE in-container agent, for t/045-agent.t only: it stands in for
# build/sbx-agent where the point is an agent that breaks the protocol,
# which the real one never does on demand.  It runs as PID 1 of a container
# the test makes by hand, connects to /.sbx/run/agent.sock like the real
# agent, reads one request and misbehaves as FAKE_MODE says:
#
#   garbage   answers with bytes that are not a frame
#   lie       a well-formed frame whose lengths do not add up
#   oom       a well-formed frame with an out-of-range oom_killed
#   huge      a prefix announcing a header far over the bound
#   hang      never answers
#   close     closes the connection without answering

import os
import socket
import struct
import time

SOCK = '/.sbx/run/agent.sock'
MODE = os.environ.get('FAKE_MODE', 'garbage')


def connect():
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(SOCK)
            return s
        except OSError:
            s.close()
            time.sleep(0.05)


def read_request(s):
    prefix = b''
    while len(prefix) < 16:
        chunk = s.recv(16 - len(prefix))
        if not chunk:
            return False
        prefix += chunk
    hlen, blen = struct.unpack('>II', prefix[8:16])
    left = hlen + blen
    while left > 0:
        chunk = s.recv(min(left, 65536))
        if not chunk:
            return False
        left -= len(chunk)
    return True


def frame(header, body_len):
    return b'SBXF' + bytes([1, 2, 0, 0]) + struct.pack('>II', len(header),
                                                       body_len) + header


def serve(s):
    if not read_request(s):
        return
    if MODE == 'garbage':
        s.sendall(b'HTTP/1.1 200 OK\r\n\r\nnot a frame at all')
    elif MODE == 'lie':
        header = (b'status=ok\0exit_code=0\0timed_out=0\0stdout_len=1000\0'
                  b'stderr_len=0\0stdout_truncated=0\0stderr_truncated=0\0'
                  b'wall_us=1\0cpu_us=1\0max_rss_kb=1\0')
        s.sendall(frame(header, 5) + b'hello')
    elif MODE == 'oom':
        header = (b'status=ok\0exit_code=0\0timed_out=0\0stdout_len=0\0'
                  b'stderr_len=0\0stdout_truncated=0\0stderr_truncated=0\0'
                  b'wall_us=1\0cpu_us=1\0max_rss_kb=1\0oom_killed=2\0')
        s.sendall(frame(header, 0))
    elif MODE == 'huge':
        s.sendall(b'SBXF' + bytes([1, 2, 0, 0])
                  + struct.pack('>II', 64 * 1024 * 1024, 0))
    elif MODE == 'hang':
        time.sleep(3600)
    s.close()


while True:
    conn = connect()
    serve(conn)
    time.sleep(0.05)

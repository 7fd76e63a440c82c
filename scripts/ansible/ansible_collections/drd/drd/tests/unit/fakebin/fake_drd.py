# -*- coding: utf-8 -*-
"""A fake drd for the module tests: it replays a script of expected calls.

FAKE_DRD names a directory holding script.json; with --root DIR, the
script of DIR's base name is read instead (FAKE_DRD/<name>/script.json),
so that one playbook run can give each host a script. script.json:

  {"fixtures": DIR, "calls": [{"args": [...], "stdout": FILE, "stderr": FILE, "rc": N}]}

Each call must match the next expected one word for word (the words after
the program name); the fake prints the fixture files (relative to
fixtures) and exits rc. Every call is appended to argv.log beside the
script as a JSON line. An unexpected call, or one past the end of the
script, exits 99 naming what it got and what it wanted.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys


def main():
    args = sys.argv[1:]
    base = os.environ.get('FAKE_DRD')
    if not base:
        sys.stderr.write('fake drd: FAKE_DRD is not set\n')
        return 99
    if '--root' in args:
        base = os.path.join(base, os.path.basename(args[args.index('--root') + 1].rstrip('/')))
    with open(os.path.join(base, 'script.json')) as f:
        script = json.load(f)
    counter = os.path.join(base, 'next')
    n = 0
    if os.path.exists(counter):
        with open(counter) as f:
            n = int(f.read())
    with open(counter, 'w') as f:
        f.write(str(n + 1))
    with open(os.path.join(base, 'argv.log'), 'a') as f:
        f.write(json.dumps(args) + '\n')
    calls = script['calls']
    if n >= len(calls):
        sys.stderr.write('fake drd: call %d %s: not in the script (%d calls)\n' % (n + 1, args, len(calls)))
        return 99
    want = calls[n]
    if args != want['args']:
        sys.stderr.write('fake drd: call %d: got %s, want %s\n' % (n + 1, args, want['args']))
        return 99
    for key, stream in (('stdout', sys.stdout), ('stderr', sys.stderr)):
        if want.get(key):
            with open(os.path.join(script['fixtures'], want[key])) as f:
                stream.write(f.read())
    return want.get('rc', 0)


if __name__ == '__main__':
    sys.exit(main())

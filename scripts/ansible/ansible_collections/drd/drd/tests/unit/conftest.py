# -*- coding: utf-8 -*-
"""pytest set-up of the drd.drd module tests: the collection on sys.path,
a fake drd on PATH (fakebin/drd) that replays fixtures and records argv,
and run_module, which runs a module's main() in-process and returns its
result."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, 'fixtures')
# .../scripts/ansible: the directory holding ansible_collections.
COLLECTIONS = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..', '..'))
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


class FakeDrd(object):
    """The expected calls of one test, and what the fake drd saw."""

    def __init__(self, base):
        self.base = base
        self.script = []

    def expect(self, args, stdout=None, stderr=None, rc=0):
        """The next call drd gets must be args; it prints the fixtures stdout and stderr and exits rc."""
        self.script.append(dict(args=list(args), stdout=stdout, stderr=stderr, rc=rc))
        self.write()
        return self

    def write(self):
        if not os.path.isdir(self.base):
            os.makedirs(self.base)
        with open(os.path.join(self.base, 'script.json'), 'w') as f:
            json.dump(dict(fixtures=FIXTURES, calls=self.script), f)

    def calls(self):
        """The argv of every call made, in order."""
        path = os.path.join(self.base, 'argv.log')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def assert_done(self, output=''):
        """Every expected call was made, and no other; output (a playbook's) is shown if not."""
        assert self.calls() == [c['args'] for c in self.script], 'drd was not called as the script says\n' + output


@pytest.fixture
def fake_drd(tmp_path, monkeypatch):
    """A FakeDrd whose drd is first on PATH."""
    fake = FakeDrd(str(tmp_path / 'drd'))
    fake.write()
    monkeypatch.setenv('FAKE_DRD', fake.base)
    monkeypatch.setenv('PATH', os.path.join(HERE, 'fakebin') + os.pathsep + os.environ.get('PATH', ''))
    return fake


@pytest.fixture
def fake_drd_hosts(tmp_path, monkeypatch):
    """fake_drd_hosts(name) is the FakeDrd of drd --root .../name: one script per host of a playbook run."""
    base = str(tmp_path / 'drd')
    monkeypatch.setenv('FAKE_DRD', base)
    monkeypatch.setenv('PATH', os.path.join(HERE, 'fakebin') + os.pathsep + os.environ.get('PATH', ''))

    def host(name):
        fake = FakeDrd(os.path.join(base, name))
        fake.write()
        return fake
    return host


@pytest.fixture
def run_module(capsys, monkeypatch):
    """run_module(module, params, check=False) runs the module's main() and returns its JSON result."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    def run(module, params, check=False):
        args = dict(params)
        args['_ansible_check_mode'] = check
        args['_ansible_remote_tmp'] = '/tmp'
        args['_ansible_keep_remote_files'] = False
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))
        with pytest.raises(SystemExit):
            module.main()
        out = capsys.readouterr().out
        return json.loads(out)
    return run

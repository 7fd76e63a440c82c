# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.drd.drd.plugins.modules import drd_info

STATUS = ['status', '--json']


def test_info_sets_the_facts(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-pending.json')
    res = run_module(drd_info, {})
    assert not res['changed']
    assert res['ansible_facts']['drd']['trial'] == 'sysimage_001'
    assert res['ansible_facts']['drd_status']['boot']['tries'] == 2
    fake_drd.assert_done()


def test_info_passes_root(fake_drd, run_module, tmp_path):
    root = str(tmp_path / 'mnt')
    fake = fake_drd.__class__(fake_drd.base + '/mnt')
    fake.expect(['--root', root] + STATUS, stdout='status/booted-only.json')
    res = run_module(drd_info, {'root': root})
    assert res['ansible_facts']['drd']['booted'] == 'sysimage_000'
    fake.assert_done()


def test_info_fails_with_drds_message(fake_drd, run_module):
    fake_drd.expect(STATUS, stderr='stderr/lock.txt', rc=1)
    res = run_module(drd_info, {})
    assert res['failed'] and res['rc'] == 1
    assert 'another drd command is running: pid 1234' in res['msg']

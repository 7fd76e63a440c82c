# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.drd.drd.plugins.modules import drd_commit

STATUS = ['status', '--json']


def test_commit_after_a_good_trial(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-good.json')
    fake_drd.expect(['commit'])
    fake_drd.expect(STATUS, stdout='status/committed.json')
    res = run_module(drd_commit, {})
    assert res['changed'] and res['image'] == 'sysimage_001' and res['retired'] == 'sysimage_000'
    fake_drd.assert_done()


def test_commit_again_changes_nothing(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/committed.json')
    res = run_module(drd_commit, {})
    assert not res['changed'] and res['retired'] == 'sysimage_000'
    fake_drd.assert_done()


def test_check_mode_runs_commit_p(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-good.json')
    fake_drd.expect(['commit', '-p', 'sysimage_001'])
    res = run_module(drd_commit, {'image': 'sysimage_001'}, check=True)
    assert res['changed']
    fake_drd.assert_done()


def test_a_refused_commit_fails_with_drds_message(fake_drd, run_module):
    fake_drd.expect(STATUS, stdout='status/trial-pending.json')
    fake_drd.expect(['commit'], stderr='stderr/commit-refused.txt', rc=1)
    res = run_module(drd_commit, {})
    assert res['failed'] and 'sysimage_001 is on trial' in res['msg']

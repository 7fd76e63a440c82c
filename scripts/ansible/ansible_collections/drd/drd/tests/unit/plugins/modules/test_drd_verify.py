# -*- coding: utf-8 -*-
from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.drd.drd.plugins.modules import drd_verify


def test_verify_returns_findings_and_changes_nothing(fake_drd, run_module):
    fake_drd.expect(['verify', '--json'], stdout='verify/clean.json')
    res = run_module(drd_verify, {})
    assert not res['changed'] and res['counts'] == {'conffile': 1} and res['image'] == 'sysimage_000'


def test_findings_are_not_a_failure_by_default(fake_drd, run_module):
    fake_drd.expect(['verify', '--json', 'sysimage_001'], stdout='verify/modified.json', rc=2)
    res = run_module(drd_verify, {'image': 'sysimage_001'})
    assert not res.get('failed') and not res['changed'] and res['rc'] == 2
    fake_drd.assert_done()


def test_fail_on_findings(fake_drd, run_module):
    fake_drd.expect(['verify', '--json'], stdout='verify/modified.json', rc=2)
    res = run_module(drd_verify, {'fail_on_findings': True}, check=True)
    assert res['failed'] and 'modified 1, unknown 1' in res['msg']

# -*- coding: utf-8 -*-
"""drd_info against the real drd (DRD_BIN, which scripts/test-ansible
builds): drd's own error reaches the task's message."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest

from ansible_collections.drd.drd.plugins.modules import drd_info


@pytest.mark.skipif(not os.environ.get('DRD_BIN'), reason='DRD_BIN (a built drd) is not set; scripts/test-ansible sets it')
def test_real_drds_error_is_the_message(run_module, monkeypatch, tmp_path):
    monkeypatch.setenv('PATH', os.path.dirname(os.environ['DRD_BIN']) + os.pathsep + os.environ.get('PATH', ''))
    root = tmp_path / 'not-a-root'
    root.mkdir()
    res = run_module(drd_info, {'root': str(root)})
    assert res['failed'] and res['rc'] == 1
    assert res['cmd'][0] == os.environ['DRD_BIN']
    assert 'drd status --json (exit 1): scanning for system images: nothing is mounted at %s' % root in res['msg'], res['msg']

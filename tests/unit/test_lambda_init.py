import gc

import pytest
from pd_connect.platform.lambda_init import collector_paused


@pytest.fixture(autouse=True)
def collector_restored():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # the test process's own objects go back to the collector
    gc.enable() if enabled else gc.disable()


def test_the_init_runs_without_collections_then_its_objects_are_frozen_and_collection_resumes():
    collections = []
    gc.callbacks.append(record := lambda phase, info: phase == "start" and collections.append(info["generation"]))
    try:
        with collector_paused():
            assert not gc.isenabled()
            made_at_init = [[] for _ in range(50_000)]  # far past the young generation's threshold
            frozen_before = gc.get_freeze_count()
        assert collections == []
    finally:
        gc.callbacks.remove(record)
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(made_at_init)


def test_a_failed_init_still_resumes_collection():
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a bad setting")
    assert gc.isenabled()


def test_a_process_that_had_turned_the_collector_off_keeps_it_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()

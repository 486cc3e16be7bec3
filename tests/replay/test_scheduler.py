"""The virtual clock: time order, insertion-order ties, horizon."""

from replay.engine.scheduler import Scheduler


def test_callbacks_run_in_time_then_insertion_order() -> None:
    sched = Scheduler(0)
    seen: list[tuple[int, str]] = []
    for t, name in [(5, "c"), (1, "a"), (5, "d"), (1, "b")]:
        sched.at(t, lambda name=name: seen.append((sched.now, name)))
    sched.run()
    assert seen == [(1, "a"), (1, "b"), (5, "c"), (5, "d")]


def test_never_schedules_in_the_past_and_stops_at_horizon() -> None:
    sched = Scheduler(100)
    seen: list[int] = []
    sched.at(50, lambda: seen.append(sched.now))
    sched.at(300, lambda: seen.append(sched.now))
    sched.run(until_ms=200)
    assert seen == [100]
    assert sched.now == 200
    assert sched.pending() == 1

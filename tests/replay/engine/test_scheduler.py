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


def test_a_cancelled_callback_does_not_run_but_counts_as_an_event() -> None:
    sched = Scheduler(0)
    seen: list[str] = []
    handle = sched.at(1, seen.append, "stale")
    sched.at(2, seen.append, "live")
    handle.cancel()
    sched.run()
    assert seen == ["live"]
    assert sched.events == 2


def test_priority_orders_callbacks_of_the_same_millisecond_before_insertion_order() -> None:
    sched = Scheduler(0)
    seen: list[str] = []
    sched.at(5, seen.append, "late", priority=1)
    sched.at(5, seen.append, "early", priority=-1)
    sched.at(5, seen.append, "default")
    sched.at(4, seen.append, "first", priority=9)
    sched.run()
    assert seen == ["first", "early", "default", "late"]


def test_peek_and_step_single_step_the_clock() -> None:
    sched = Scheduler(0)
    seen: list[int] = []
    sched.at(3, lambda: seen.append(sched.now))
    sched.at(7, lambda: seen.append(sched.now))
    assert sched.peek() == 3
    assert sched.step() is True
    assert (seen, sched.now, sched.peek()) == ([3], 3, 7)
    assert sched.step() is True
    assert sched.step() is False
    assert sched.peek() is None
    assert seen == [3, 7]

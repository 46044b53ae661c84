"""An outage is told once when it starts, in a summary now and then, and once when it ends."""

from structlog.testing import capture_logs

from plumbing.outage import Outage


def test_an_outage_is_one_warning_a_summary_a_minute_and_one_info_not_a_line_per_attempt():
    clock = [0.0]
    outage = Outage("broker", interval=60, clock=lambda: clock[0])
    with capture_logs() as lines:
        for second in range(0, 150):  # an attempt every second for 150 s
            clock[0] = float(second)
            outage.failed("KafkaConnectionError")
        assert outage.away and outage.reason == "KafkaConnectionError"
        clock[0] = 150.0
        outage.succeeded()
        outage.succeeded()  # all is well: nothing more to say
    assert [line["event"] for line in lines] == ["dependency_unavailable", "dependency_still_unavailable",
                                                 "dependency_still_unavailable", "dependency_available_again"]
    assert lines[1]["failed_attempts"] == 61 and lines[1]["down_seconds"] == 60
    assert lines[-1] == {"event": "dependency_available_again", "log_level": "info", "dependency": "broker",
                         "failed_attempts": 150, "down_seconds": 150}
    assert not outage.away and outage.reason is None

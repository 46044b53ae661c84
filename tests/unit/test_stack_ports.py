"""The stack's ports against the machine's ephemeral range, where a client can hold a server's port."""

from loket.stack.ports import DEFAULT_RANGE, ephemeral_note, ephemeral_range


def test_the_ephemeral_range_is_read_from_the_kernel_and_defaults_to_linuxs(tmp_path):
    (tmp_path / "range").write_text("32768\t60999\n")
    assert ephemeral_range(tmp_path / "range") == range(32768, 61000)
    assert ephemeral_range(tmp_path / "missing") == DEFAULT_RANGE


def test_a_port_in_the_ephemeral_range_is_named_with_the_range_and_a_way_out():
    note = ephemeral_note(39092, range(32768, 61000))
    assert note == ("port 39092 lies in this machine's ephemeral range 32768-60999, so a client may hold it as its "
                    "own source port; configure a port below 32768")
    assert ephemeral_note(9092, range(32768, 61000)) is None

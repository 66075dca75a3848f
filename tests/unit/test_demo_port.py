"""The demo's commands from another terminal act on the running demo's address."""
from plugin.demo import demo_port


def test_a_command_uses_the_port_the_demo_started_on_unless_port_is_given(tmp_path):
    assert demo_port({}, tmp_path) == 5000  # no demo has run here
    (tmp_path / "port").write_text("5093\n")

    assert demo_port({}, tmp_path) == 5093
    assert demo_port({"PORT": "6001"}, tmp_path) == 6001


def test_an_unreadable_record_falls_back_to_the_default(tmp_path):
    (tmp_path / "port").write_text("not a port")

    assert demo_port({}, tmp_path) == 5000

import click

SEEN: list[tuple[str, str]] = []


def count_job(shop_id: int) -> None:
    SEEN.append(("count", str(shop_id)))


def every_hour() -> None:
    SEEN.append(("every_hour", ""))


def note_paid(session, event) -> None:
    SEEN.append((event.name, event.key))


@click.command("example")
def example_cli() -> None:
    """The example feature's command."""
    click.echo("example")

import click


@click.group("jobs")
def jobs_cli():
    """(being built)"""

def register(queue) -> None:
    pass

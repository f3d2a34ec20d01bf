"""The mnist task: image classification through :mod:`odebench.tasks.image_classification`."""

from __future__ import annotations

from functools import partial

from odebench.tasks import image_classification as _images

NAME = "mnist"


def setups() -> list[str]:
    return list(_images.SETUPS)


models = partial(_images.models, NAME)
resolve = partial(_images.resolve, NAME)
prepare_data = partial(_images.describe_data, NAME)
run = partial(_images.run, NAME)

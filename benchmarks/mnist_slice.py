"""asv benchmarks of one MNIST training iteration for the seven ``nesterov2022`` models.

A 1-batch MNIST slice: the first 8 stand-in digits (``odebench.data.mnist.digits_standin``)
upsampled bilinearly to 1x28x28, float32; NODE runs on the first 4 of them because its
92-channel field makes the 8-image step too slow on one CPU thread (batch cut, architecture
unchanged). The model is the paper's MNIST architecture from
``build_image_model("nesterov2022", "mnist", model, solver)``, but solved with dopri5 at
rtol = atol = 1e-3 (not the paper's 1e-5) to keep a CPU call cheap, with the adjoint;
cross-entropy loss, Adam (lr 5e-4) with gradient clipping at 10 as the setup trains.
"""

from __future__ import annotations

from benchmarks.fixtures import IMAGE_MODELS, _TrainStepNFE, _TrainStepTime


class MnistSliceTrainStep(_TrainStepTime):
    """Wall time of one training iteration on the MNIST slice (1 CPU thread).

    zero_grad, forward, cross-entropy, adjoint backward, gradient clipping, Adam step, as
    ``odebench.tasks.trainer.train`` does it inside ``count_nfe()``. ``setup`` restores the
    initial parameters and an empty Adam state before every timed call.
    """

    task = "mnist"
    params = list(IMAGE_MODELS)
    repeat = (2, 5, 10.0)  # about 1 s a call on a loaded CPU: bound the samples per model


class MnistSliceTrainStepNFE(_TrainStepNFE):
    """Exact forward and backward NFE of the first training iteration (seed 0)."""

    task = "mnist"
    params = list(IMAGE_MODELS)

"""External symbols our gin configs use, registered once (and nothing else).

Keras 3 classes cannot take `@gin.configurable` directly (BUILD.md, Stack), and `spreads/` stays
free of gin, so they are registered here under their own module names: `@keras.optimizers.Adam`,
`@kernels.GaussianSpread`, `@kernels.LaplaceSpread`. Registering the same object twice under the
same name is harmless in gin, so another module may register the kernels too. The learned
spreads are `@lowrank.LowRankGaussianSpread` and `@injective.InjectiveSpread`.
"""

import gin
import keras

from spreadtf.spreads import injective
from spreadtf.spreads import kernels
from spreadtf.spreads import lowrank

__all__ = []

gin.external_configurable(keras.optimizers.Adam, module='keras.optimizers')
gin.external_configurable(kernels.GaussianSpread, module='spreadtf.spreads.kernels')
gin.external_configurable(kernels.LaplaceSpread, module='spreadtf.spreads.kernels')
gin.external_configurable(lowrank.LowRankGaussianSpread, module='spreadtf.spreads.lowrank')
gin.external_configurable(injective.InjectiveSpread, module='spreadtf.spreads.injective')

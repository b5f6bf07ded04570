"""Text generation: `GenerationMixin.generate()` (greedy, sampling, beam search), its settings
(`GenerationConfig`), logits processors, stopping criteria and streamers. Module names follow the reference's
`transformers.generation`, so imports port by changing the package name."""

from .configuration import GENERATION_CONFIG_NAME, GenerationConfig
from .logits_process import (
    LogitsProcessor,
    LogitsProcessorList,
    MinLengthLogitsProcessor,
    MinPLogitsWarper,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)
from .stopping_criteria import (
    EosTokenCriteria,
    MaxLengthCriteria,
    StoppingCriteria,
    StoppingCriteriaList,
    StopStringCriteria,
)
from .streamers import BaseStreamer, TextIteratorStreamer, TextStreamer
from .utils import GenerateBeamDecoderOnlyOutput, GenerateDecoderOnlyOutput, GenerationMixin

__all__ = [
    "GENERATION_CONFIG_NAME",
    "GenerationConfig",
    "GenerationMixin",
    "GenerateDecoderOnlyOutput",
    "GenerateBeamDecoderOnlyOutput",
    "LogitsProcessor",
    "LogitsProcessorList",
    "MinLengthLogitsProcessor",
    "MinPLogitsWarper",
    "NoBadWordsLogitsProcessor",
    "NoRepeatNGramLogitsProcessor",
    "RepetitionPenaltyLogitsProcessor",
    "TemperatureLogitsWarper",
    "TopKLogitsWarper",
    "TopPLogitsWarper",
    "TypicalLogitsWarper",
    "StoppingCriteria",
    "StoppingCriteriaList",
    "MaxLengthCriteria",
    "EosTokenCriteria",
    "StopStringCriteria",
    "BaseStreamer",
    "TextStreamer",
    "TextIteratorStreamer",
]

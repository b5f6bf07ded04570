"""mintformers: fast, faithful, readable PyTorch transformers (BERT, MobileBERT, MPNet, MPT, ErnieM).

Public names are imported lazily, so `import mintformers` is quick and a family loads only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_FAMILIES = {
    "mintformers.models.configs": ["BertConfig", "MobileBertConfig", "MPNetConfig", "MptConfig", "ErnieMConfig"],
    "mintformers.models.bert": [
        "BertModel", "BertPreTrainedModel", "BertForPreTraining", "BertForPreTrainingOutput",
        "BertLMHeadModel", "BertForMaskedLM", "BertForNextSentencePrediction", "BertForSequenceClassification",
        "BertForMultipleChoice", "BertForTokenClassification", "BertForQuestionAnswering",
    ],
    "mintformers.models.mobilebert": [
        "MobileBertModel", "MobileBertPreTrainedModel", "MobileBertForPreTraining",
        "MobileBertForPreTrainingOutput", "MobileBertForMaskedLM", "MobileBertForNextSentencePrediction",
        "MobileBertForSequenceClassification", "MobileBertForMultipleChoice", "MobileBertForTokenClassification",
        "MobileBertForQuestionAnswering",
    ],
    "mintformers.models.mpnet": [
        "MPNetModel", "MPNetPreTrainedModel", "MPNetForMaskedLM", "MPNetForSequenceClassification",
        "MPNetForMultipleChoice", "MPNetForTokenClassification", "MPNetForQuestionAnswering",
    ],
    "mintformers.models.mpt": [
        "MptModel", "MptPreTrainedModel", "MptForCausalLM", "MptForSequenceClassification",
        "MptForTokenClassification", "MptForQuestionAnswering",
    ],
    "mintformers.models.ernie_m": [
        "ErnieMModel", "ErnieMPreTrainedModel", "ErnieMForSequenceClassification",
        "ErnieMForMultipleChoice", "ErnieMForTokenClassification", "ErnieMForQuestionAnswering",
        "ErnieMForInformationExtraction",
    ],
    # TensorFlow (Keras 3): importing one of these imports TensorFlow, or says what to install
    "mintformers.tf.bert": [
        "TFBertModel", "TFBertPreTrainedModel", "TFBertForPreTraining", "TFBertForPreTrainingOutput",
        "TFBertLMHeadModel", "TFBertForMaskedLM", "TFBertForNextSentencePrediction", "TFBertForSequenceClassification",
        "TFBertForMultipleChoice", "TFBertForTokenClassification", "TFBertForQuestionAnswering",
    ],
    "mintformers.tf.mobilebert": [
        "TFMobileBertModel", "TFMobileBertPreTrainedModel", "TFMobileBertForPreTraining",
        "TFMobileBertForPreTrainingOutput", "TFMobileBertForMaskedLM", "TFMobileBertForNextSentencePrediction",
        "TFMobileBertForSequenceClassification", "TFMobileBertForMultipleChoice",
        "TFMobileBertForTokenClassification", "TFMobileBertForQuestionAnswering",
    ],
    "mintformers.tf.tokenizer": ["TFBertTokenizer"],
    "mintformers.tf.modeling": ["TFPreTrainedModel"],
    "mintformers.tf.outputs": [
        "TFBaseModelOutputWithPooling", "TFBaseModelOutputWithPoolingAndCrossAttentions",
        "TFCausalLMOutputWithCrossAttentions", "TFMaskedLMOutput", "TFNextSentencePredictorOutput",
        "TFSequenceClassifierOutput", "TFMultipleChoiceModelOutput", "TFTokenClassifierOutput",
        "TFQuestionAnsweringModelOutput",
    ],
    "mintformers.flax.bert": [  # JAX/Flax: imported only when used (pip install mintformers[flax])
        "FlaxBertModel", "FlaxBertPreTrainedModel", "FlaxBertForPreTraining", "FlaxBertForPreTrainingOutput",
        "FlaxBertForCausalLM", "FlaxBertForMaskedLM", "FlaxBertForNextSentencePrediction",
        "FlaxBertForSequenceClassification", "FlaxBertForMultipleChoice", "FlaxBertForTokenClassification",
        "FlaxBertForQuestionAnswering",
    ],
    "mintformers.flax.modeling": ["FlaxPreTrainedModel"],
    "mintformers.tokenization": [
        "PreTrainedTokenizerBase", "PreTrainedTokenizer", "PreTrainedTokenizerFast", "BatchEncoding",
        "BertTokenizer", "BertTokenizerFast", "MobileBertTokenizer", "MobileBertTokenizerFast", "MPNetTokenizer",
        "MPNetTokenizerFast", "ErnieMTokenizer", "ErnieMTokenizerFast",
    ],
    "mintformers.auto": [
        "AutoConfig", "AutoTokenizer", "AutoModel", "AutoModelForPreTraining", "AutoModelForMaskedLM",
        "AutoModelForCausalLM", "AutoModelForSequenceClassification", "AutoModelForTokenClassification",
        "AutoModelForQuestionAnswering", "AutoModelForMultipleChoice", "AutoModelForNextSentencePrediction",
        "AutoModelForInformationExtraction",
    ],
    "mintformers.config": ["PretrainedConfig", "ConfigError"],
    "mintformers.modeling": ["PreTrainedModel"],
    "mintformers.hub": ["CheckpointError"],
    "mintformers.layers.cache": ["Cache", "DynamicCache", "EncoderDecoderCache", "StaticCache"],
    "mintformers.generation": [
        "GenerationConfig", "GenerationMixin", "TextStreamer", "TextIteratorStreamer", "BaseStreamer",
        "GenerateDecoderOnlyOutput", "GenerateBeamDecoderOnlyOutput", "LogitsProcessor", "LogitsProcessorList",
        "RepetitionPenaltyLogitsProcessor", "NoRepeatNGramLogitsProcessor", "NoBadWordsLogitsProcessor",
        "MinLengthLogitsProcessor", "TemperatureLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper",
        "MinPLogitsWarper", "TypicalLogitsWarper", "StoppingCriteria", "StoppingCriteriaList", "MaxLengthCriteria",
        "EosTokenCriteria", "StopStringCriteria",
    ],
    "mintformers.pipelines": ["pipeline", "Pipeline"],
    "mintformers.embeddings": ["SentenceEncoder", "SentenceTransformer", "CrossEncoder"],
}
_WHERE = {name: module for module, names in _FAMILIES.items() for name in names}
__all__ = sorted(_WHERE) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mintformers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

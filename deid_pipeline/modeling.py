"""Torch models behind a bundle, all with the same two-head forward signature.

``forward(input_ids, attention_mask) -> (bio_logits [B, T, 3], entity_logits [B, T, E])``.
:class:`TwoHeadTokenClassifier` is our model (a Hugging Face encoder, XLM-RoBERTa for the
default bundle or BERT for small test models, with a BIO head and an entity head);
:class:`FlatBioAsTwoHead` adapts an ordinary Hugging Face token classifier with flat
``O / B-X / I-X`` labels to the two heads, so the runtimes, the ONNX export and decoding only
ever see two heads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from deid_pipeline.bundle import TWO_HEAD_CONFIG_KEY, BundleError, FlatBioLayout
from deid_pipeline.labels import BIO_TAGS

if TYPE_CHECKING:
    from transformers import PretrainedConfig

    from deid_pipeline.bundle import Bundle

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class TwoHeadTokenClassifier(nn.Module):
    """An encoder (any ``model_type`` ``AutoModel`` knows) with a BIO head (O, B, I) and an
    entity-label head.

    The config carries our extra fields ``deid_two_head`` and ``entity_labels`` so that a saved
    model folder describes itself.
    """

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__()
        from transformers import AutoModel

        entity_labels = getattr(config, "entity_labels", None)
        if not entity_labels:
            raise ValueError("config has no entity_labels")
        self.config = config
        self.entity_labels: tuple[str, ...] = tuple(entity_labels)
        self.encoder = AutoModel.from_config(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.bio_head = nn.Linear(config.hidden_size, len(BIO_TAGS))
        self.entity_head = nn.Linear(config.hidden_size, len(self.entity_labels))
        for head in (self.bio_head, self.entity_head):
            nn.init.normal_(head.weight, std=config.initializer_range)
            nn.init.zeros_(head.bias)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(bio_logits [B, T, 3], entity_logits [B, T, E])``."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        return self.bio_head(hidden), self.entity_head(hidden)


#: Logit of the padding column used for ragged log-sum-exp rows: exp() of it underflows to 0
#: against any real logit, yet it stays finite in fp16 (unlike -inf, which can give NaN).
_PAD_LOGIT = -1.0e4


def _lse_index(columns: Sequence[Sequence[int]], pad_column: int) -> torch.Tensor:
    """Index matrix [N, K] for a row-wise log-sum-exp over ragged column lists.

    Short rows are padded with ``pad_column``, a column that holds :data:`_PAD_LOGIT`, so the
    ONNX graph stays a plain gather + logsumexp.
    """
    width = max(len(row) for row in columns)
    return torch.tensor([[*row, *([pad_column] * (width - len(row)))] for row in columns])


class FlatBioAsTwoHead(nn.Module):
    """Wrap a flat BIO token classifier and return two-head logits via log-sum-exp.

    bio = [O, lse(B-*), lse(I-*)]; entity[X] = lse(B-X, I-X) in the layout's entity order.
    """

    def __init__(self, model: nn.Module, layout: FlatBioLayout) -> None:
        super().__init__()
        self.model = model
        self.entity_labels = layout.entity_labels
        labels = layout.labels
        position = {label: index for index, label in enumerate(labels)}
        begin = [i for i, label in enumerate(labels) if label.startswith("B-")]
        inside = [i for i, label in enumerate(labels) if label.startswith("I-")]
        pad = len(labels)
        entity_rows = [
            [position[f"{tag}-{entity}"] for tag in ("B", "I") if f"{tag}-{entity}" in position]
            for entity in self.entity_labels
        ]
        bio_index = _lse_index([[position["O"]], begin, inside], pad)
        self.register_buffer("bio_index", bio_index, persistent=False)
        self.register_buffer("entity_index", _lse_index(entity_rows, pad), persistent=False)

    @staticmethod
    def _gather_lse(logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = logits.shape
        picked = logits[:, :, index.reshape(-1)].reshape(batch, seq, *index.shape)
        return torch.logsumexp(picked, dim=-1)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(bio_logits [B, T, 3], entity_logits [B, T, E])``."""
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        padded = torch.cat([logits, torch.full_like(logits[:, :, :1], _PAD_LOGIT)], dim=-1)
        bio = self._gather_lse(padded, self.bio_index)
        entity = self._gather_lse(padded, self.entity_index)
        return bio, entity


def build_two_head_model(
    vocab_size: int,
    entity_labels: Sequence[str],
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 128,
    max_positions: int = 512,
    seed: int = 0,
    pad_token_id: int = 0,
) -> TwoHeadTokenClassifier:
    """A randomly initialised two-head model; the same ``seed`` gives the same weights."""
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_positions,
        pad_token_id=pad_token_id,
        type_vocab_size=1,
    )
    config.update({TWO_HEAD_CONFIG_KEY: True, "entity_labels": list(entity_labels)})
    # A private RNG scope: seeding must not disturb the caller's global torch RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TwoHeadTokenClassifier(config)
    return model.eval()


def save_two_head_model(
    model: TwoHeadTokenClassifier, out_dir: Path | str, exclude: Sequence[str] = ()
) -> list[Path]:
    """Write ``model.safetensors`` and ``config.json`` into ``out_dir``; return both paths.

    ``exclude`` names tensors left out of the safetensors file (frozen word embeddings that a
    source bundle takes from its base package instead).
    """
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = model.config.to_dict()
    config[TWO_HEAD_CONFIG_KEY] = True
    config["entity_labels"] = list(model.entity_labels)
    config_path = out / CONFIG_NAME
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    weights_path = out / WEIGHTS_NAME
    state = {
        name: tensor.detach().float().contiguous().cpu()
        for name, tensor in model.state_dict().items()
        if name not in exclude
    }
    save_file(state, str(weights_path), metadata={"format": "pt"})
    return [config_path, weights_path]


def load_two_head_model(model_dir: Path | str) -> TwoHeadTokenClassifier:
    """Load a folder written by :func:`save_two_head_model` (eval mode)."""
    from safetensors.torch import load_file

    folder = Path(model_dir)
    config = two_head_config(folder / CONFIG_NAME)
    model = TwoHeadTokenClassifier(config)
    model.load_state_dict(load_file(str(folder / WEIGHTS_NAME)), strict=True)
    return model.eval()


def two_head_config(path: Path) -> PretrainedConfig:
    """The encoder config of a two-head ``config.json`` (its ``model_type`` picks the class)."""
    from transformers import AutoConfig

    data = json.loads(path.read_text(encoding="utf-8"))
    if not data.get(TWO_HEAD_CONFIG_KEY):
        raise BundleError(f"{CONFIG_NAME} does not describe a two-head model")
    model_type = data.pop("model_type", None)
    if not model_type:
        raise BundleError(f"{CONFIG_NAME} has no model_type")
    return AutoConfig.for_model(model_type, **data)


def load_torch_model(bundle: Bundle) -> nn.Module:
    """The bundle's torch model in eval mode, two-head forward signature for either layout."""
    layout = bundle.manifest.label_layout
    if bundle.path_of("weights_safetensors") is None:
        raise BundleError("bundle has no safetensors weights for the torch runtime")
    if layout.kind == "two_head":
        model = load_two_head_model(bundle.root)
        if model.entity_labels != bundle.entity_labels:
            raise BundleError("config.json entity labels differ from the manifest's")
        return model
    from transformers import AutoModelForTokenClassification

    hf_model = AutoModelForTokenClassification.from_pretrained(
        str(bundle.root), local_files_only=True
    )
    labels = [hf_model.config.id2label[index] for index in range(hf_model.config.num_labels)]
    if labels != list(layout.labels):
        raise BundleError("config.json id2label differs from the manifest's label order")
    return FlatBioAsTwoHead(hf_model, layout).eval()


def build_base_two_head_model(
    encoder_config: dict[str, Any],
    encoder_state: dict[str, Any],
    entity_labels: Sequence[str],
    seed: int = 0,
) -> TwoHeadTokenClassifier:
    """A two-head model on a pretrained encoder: ``encoder_config`` are the fields of the
    encoder's config (with ``model_type``), ``encoder_state`` its weights (numpy or torch, named
    as the encoder's own state dict). The heads are initialised from ``seed``."""
    from transformers import AutoConfig

    fields = dict(encoder_config)
    config = AutoConfig.for_model(fields.pop("model_type"), **fields)
    config.update({TWO_HEAD_CONFIG_KEY: True, "entity_labels": list(entity_labels)})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TwoHeadTokenClassifier(config)
    tensors = {name: torch.as_tensor(value) for name, value in encoder_state.items()}
    model.encoder.load_state_dict(tensors, strict=True)
    return model.eval()

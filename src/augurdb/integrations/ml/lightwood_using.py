"""MindsDB's Lightwood USING keys, translated into augurdb.automl options, so tutorials run unchanged.

    USING encoders.location.module = 'CategoricalAutoEncoder',
          encoders.rental_price.args.positive_domain = 'True',
          model.args = '{"submodels": [{"module": "LightGBM", "args": {"stop_after": 12}}]}',
          accuracy_functions = "['r2_score']"

becomes ``encoders={"location": "CategoricalEncoder"}``, ``mixers=["LightGBM"]`` and
``accuracy_functions=["r2_score"]``. Lightwood's per-module ``args`` tune Lightwood internals that
have no counterpart here; they are accepted and not applied (docs/sql.md says so). A Lightwood
module with no counterpart is an error naming the ones that have one.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from augurdb.errors import WrongArguments

# Lightwood encoder -> the augurdb.automl encoder doing the same job.
ENCODERS = {
    "NumericEncoder": "NumericEncoder",
    "TsNumericEncoder": "NumericEncoder",
    "CategoricalAutoEncoder": "CategoricalEncoder",
    "OneHotEncoder": "CategoricalEncoder",
    "BinaryEncoder": "CategoricalEncoder",
    "SimpleLabelEncoder": "CategoricalEncoder",
    "DatetimeEncoder": "DateEncoder",
    "DatetimeNormalizerEncoder": "DateEncoder",
    "TextRnnEncoder": "RNNEncoder",
    "PretrainedLangEncoder": "SentenceTextEncoder",
    "ShortTextEncoder": "TfidfTextEncoder",
    "VocabularyEncoder": "TfidfTextEncoder",
    "ArrayEncoder": "ArrayEncoder",
}
# Lightwood mixer -> augurdb.automl mixer.
MIXERS = {
    "Neural": "FullyConnectedNet",
    "LightGBM": "LightGBM",
    "Regression": "Linear",
}


def _value(key: str, value: Any) -> Any:
    """A USING value that may be JSON or a Python literal inside a string (tutorials quote both)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or text[0] not in "[{":
        return value
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise WrongArguments(f"USING {key}: cannot read {value!r} as a JSON object or list") from None


def _module(key: str, name: Any, known: dict[str, str], ours: set[str]) -> str:
    """Our name for a Lightwood module name (our own names pass through)."""
    if isinstance(name, str) and name in ours:
        return name
    if isinstance(name, str) and name in known:
        return known[name]
    raise WrongArguments(f"USING {key}: {name!r} is not available; use one of {sorted(ours | set(known))}")


def _encoder_spec(key: str, spec: Any, ours: set[str]) -> str:
    if isinstance(spec, dict):
        if "module" not in spec:
            raise WrongArguments(f"USING {key}: an encoder needs a 'module'")
        spec = spec["module"]
    return _module(key, spec, ENCODERS, ours)


def _submodels(key: str, model: Any, ours: set[str], built_in: set[str]) -> tuple[list[str], dict[str, dict]]:
    """Mixer names, and the args of those that take them: a user's own mixer (registered, or
    named as "module:Class") gets its submodel's args; Lightwood's args for its own modules tune
    internals that have no counterpart here and are dropped."""
    args = model.get("args", model) if isinstance(model, dict) else None
    submodels = _value(key, args.get("submodels")) if isinstance(args, dict) else None
    if not isinstance(submodels, list) or not submodels:
        raise WrongArguments(f"USING {key}: expected {{\"submodels\": [{{\"module\": \"LightGBM\"}}, ...]}}")
    names, mixer_args = [], {}
    for submodel in submodels:
        module = submodel.get("module") if isinstance(submodel, dict) else submodel
        name = module if isinstance(module, str) and ":" in module else _module(key, module, MIXERS, ours)
        names.append(name)
        given = submodel.get("args") if isinstance(submodel, dict) else None
        if given and name not in built_in:
            if not isinstance(given, dict):
                raise WrongArguments(f"USING {key}: the args of {name!r} must be an object")
            mixer_args[name] = given
    return list(dict.fromkeys(names)), mixer_args


def translate(options: dict[str, Any], our_encoders: set[str], our_mixers: set[str],
              built_in_mixers: set[str] | None = None) -> dict[str, Any]:
    """Options with Lightwood's keys rewritten into ours; other keys are left as they are.
    ``built_in_mixers`` (default: all of ``our_mixers``) are those whose Lightwood args are dropped."""
    built_in = our_mixers if built_in_mixers is None else built_in_mixers
    out: dict[str, Any] = {}
    encoders: dict[str, str] = {}
    for key, value in options.items():
        parts = key.split(".")
        if parts[0] == "encoders" and len(parts) >= 3:  # encoders.<column>.module / .args...
            column = ".".join(parts[1:-1]) if parts[-1] == "module" else None
            if column is not None:
                encoders[column] = _encoder_spec(key, value, our_encoders)
            elif "args" not in parts[2:]:
                raise WrongArguments(f"USING {key}: expected encoders.<column>.module or encoders.<column>.args.<name>")
        elif key == "encoders":
            spec = _value(key, value)
            if not isinstance(spec, dict):
                raise WrongArguments("USING encoders must map column names to encoders")
            encoders.update({str(c): _encoder_spec(f"encoders.{c}", e, our_encoders) for c, e in spec.items()})
        elif key in ("model", "model.args"):
            model = _value(key, value)
            out["mixers"], mixer_args = _submodels(key, {"args": model} if key == "model.args" else model,
                                                   our_mixers, built_in)
            out.setdefault("mixer_args", {}).update(mixer_args)
        elif key == "mixer_args":
            given = _value(key, value)
            if not isinstance(given, dict):
                raise WrongArguments('USING mixer_args must be a JSON object: {"<mixer>": {"<arg>": value}}')
            out.setdefault("mixer_args", {}).update(given)
        elif key == "accuracy_functions":
            out[key] = _value(key, value)
        else:
            out[key] = value
    if encoders:
        out["encoders"] = encoders
    if not out.get("mixer_args", True):
        del out["mixer_args"]
    if "mixers" in options and ("model" in options or "model.args" in options):
        raise WrongArguments("USING takes either mixers or Lightwood's model.args submodels, not both")
    return out

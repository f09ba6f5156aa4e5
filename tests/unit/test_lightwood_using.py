"""Lightwood's USING keys (MindsDB tutorials) translated into augurdb.automl options."""

from __future__ import annotations

import pytest

from augurdb.automl.encoders import ENCODERS
from augurdb.automl.mixers import registry
from augurdb.errors import WrongArguments
from augurdb.integrations.ml.lightwood_using import translate


def _translate(options: dict) -> dict:
    return translate(options, set(ENCODERS), set(registry.names()), set(registry.BUILT_IN))


def test_tutorial_keys_become_engine_options():
    options = _translate({
        "encoders.location.module": "CategoricalAutoEncoder",
        "encoders.rental_price.module": "NumericEncoder",
        "encoders.rental_price.args.positive_domain": "True",
        "model.args": '{"submodels": [{"module": "LightGBM", "args": {"stop_after": 12, "fit_on_dev": true}},'
                      ' {"module": "Regression"}]}',
        "accuracy_functions": "['r2_score', 'mean_absolute_error']",
        "time_budget": 5,
    })
    assert options == {
        "encoders": {"location": "CategoricalEncoder", "rental_price": "NumericEncoder"},
        "mixers": ["LightGBM", "Linear"],
        "accuracy_functions": ["r2_score", "mean_absolute_error"],
        "time_budget": 5,
    }


def test_a_users_own_mixer_keeps_its_args_where_lightwoods_are_dropped():
    options = _translate({"model.args": '{"submodels": [{"module": "my_pkg.mixers:Tabular", "args": {"depth": 3}},'
                                        ' {"module": "LightGBM", "args": {"stop_after": 12}}]}',
                          "mixer_args": '{"Other": {"x": 1}}'})
    assert options == {"mixers": ["my_pkg.mixers:Tabular", "LightGBM"],
                       "mixer_args": {"my_pkg.mixers:Tabular": {"depth": 3}, "Other": {"x": 1}}}
    assert _translate({"mixer_args": '{"Other": {"x": 1}}'}) == {"mixer_args": {"Other": {"x": 1}}}


def test_json_object_forms_and_our_own_names_pass():
    options = _translate({"encoders": {"notes": {"module": "TextRnnEncoder"}, "city": "CategoricalEncoder"},
                          "model": {"args": {"submodels": [{"module": "Neural"}, {"module": "LightGBM"}]}}})
    assert options["encoders"] == {"notes": "RNNEncoder", "city": "CategoricalEncoder"}
    assert options["mixers"] == ["FullyConnectedNet", "LightGBM"]


@pytest.mark.parametrize("using, message", [
    ({"encoders.location.module": "ImgEncoder"}, "'ImgEncoder' is not available"),
    ({"model.args": '{"submodels": [{"module": "RandomForest"}]}'}, "'RandomForest' is not available"),
    ({"model.args": '{"submodels": []}'}, "submodels"),
    ({"model.args": "{not json"}, "cannot read"),
    ({"encoders.location.bogus": "x"}, "encoders.<column>.module"),
    ({"model.args": '{"submodels": [{"module": "Neural"}]}', "mixers": ["Linear"]}, "either"),
])
def test_unknown_or_malformed_lightwood_keys_are_clear_errors(using, message):
    with pytest.raises(WrongArguments, match=message):
        _translate(using)

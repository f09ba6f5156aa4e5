"""Training on the shared real datasets (skipped only when /work/shared/data is absent)."""

from __future__ import annotations

from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from augurdb.automl import learn

from .conftest import dataset


def test_home_rentals_regression():
    df = dataset("home_rentals/home_rentals.csv")
    train, test = train_test_split(df, test_size=0.2, random_state=0)
    predictor = learn(train, "rental_price", time_budget=8, options={"mixers": ["Linear", "LightGBM"]})
    out = predictor.predict(test)
    assert r2_score(test["rental_price"], out["rental_price"]) > 0.95
    one = predictor.predict(test.iloc[:1])
    assert one["rental_price"].iloc[0] == out["rental_price"].iloc[0]


def test_titanic_classification():
    df = dataset("titanic/train.csv")
    train, test = train_test_split(df, test_size=0.2, random_state=0, stratify=df["Survived"])
    predictor = learn(train, "Survived", time_budget=8)
    out = predictor.predict(test)
    assert balanced_accuracy_score(test["Survived"], out["Survived"]) > 0.72
    assert out["Survived"].dtype.kind == "i"


def test_sms_spam_text():
    df = dataset("sms_spam/sms_spam.csv")
    train, test = train_test_split(df, test_size=0.2, random_state=0, stratify=df["label"])
    predictor = learn(train, "label", time_budget=10, options={"mixers": ["Linear", "LightGBM"]})
    out = predictor.predict(test)
    assert balanced_accuracy_score(test["label"], out["label"]) > 0.93

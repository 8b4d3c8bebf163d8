"""Editing a loaded scenario (prioritiser/scenario.py, editing section): fields and YAML agree, and
the variant files of the what-if tools are written with the same functions."""
from pathlib import Path

import pytest
import yaml

from prioritiser.periods import Granularity, Horizon
from prioritiser.scenario import (Adjustment, SolverOptions, adjustment_doc, extension_doc, load_scenario,
                                  write_scenario)

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def test_replace_changes_fields_and_yaml_alike(tmp_path):
    base = load_scenario(BASELINE)
    cut = Adjustment("capital", scale=0.8, start="2027/28", end="2027/28")
    edited = base.replace(name="edited", adjustments=[*base.adjustments, cut], force_out=("PORTAL-1",),
                          weights={**base.settings.weights, "in_year_revenue": 1.0}, external=False,
                          solver=SolverOptions("cbc", 12.0, 0.01))
    # the original is untouched
    assert base.name == "baseline" and base.settings.force_out == [] and base.settings.external
    assert edited.settings.force_out == ["PORTAL-1"] and edited.settings.weights["in_year_revenue"] == 1.0
    assert edited.settings.discount_rate == base.settings.discount_rate  # not named: kept
    # written and read back, it is the same scenario
    path = write_scenario(tmp_path / "edited.yaml", edited)
    again = load_scenario(path)
    assert again.name == "edited" and again.portfolio == base.portfolio
    assert again.settings == edited.settings and again.solver == edited.solver
    assert again.adjustments == edited.adjustments and again.horizon == edited.horizon
    doc = yaml.safe_load(path.read_text())
    assert doc["adjustments"][-1] == {"resource": "capital", "scale": 0.8, "from": "2027/28", "to": "2027/28"}
    assert doc["objective"]["weights"]["in_year_revenue"] == 1.0 and doc["external"] is False


def test_replace_writes_a_changed_section_whole_and_refuses_unknown_keys():
    base = load_scenario(BASELINE)
    h = Horizon("2026/27 Q1", 8, Granularity.QUARTER)
    edited = base.replace(horizon=h, discount_rate=0.05)
    assert edited.raw["horizon"] == {"start": "2026/27 Q1", "periods": 8, "granularity": "quarter"}
    assert edited.raw["objective"] == {"discount_rate": 0.05, "weights": base.settings.weights,
                                       "alignment_weights": base.settings.alignment_weights}
    with pytest.raises(TypeError, match="no editable colour"):
        base.replace(colour="blue")


def test_adjustment_doc_is_the_file_format():
    assert adjustment_doc(Adjustment("dev", add=-2.0)) == {"resource": "dev", "add": -2.0}
    assert adjustment_doc(Adjustment("capital", scale=0.9, start="2027/28")) == \
        {"resource": "capital", "scale": 0.9, "from": "2027/28"}


def test_extension_extends_the_file_and_repeats_its_adjustments(tmp_path):
    base = load_scenario(BASELINE.parent / "capital-cut-20.yaml")
    assert base.adjustments  # the scenario has its own cut
    doc = extension_doc(base, "deeper", [Adjustment("capital", scale=0.5, start="2028/29")])
    path = write_scenario(tmp_path / "deeper.yaml", doc)
    stamp = path.stat().st_mtime_ns
    assert write_scenario(path, doc).stat().st_mtime_ns == stamp  # unchanged: not rewritten
    variant = load_scenario(path)
    assert variant.name == "deeper" and variant.files[1] == base.path
    assert variant.adjustments == [*base.adjustments, Adjustment("capital", scale=0.5, start="2028/29")]
    assert variant.settings == base.settings and variant.horizon == base.horizon


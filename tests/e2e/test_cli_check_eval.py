"""`peacewatch check` and `peacewatch eval` end to end, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.paths import shared_path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "e2e"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {"PEACEWATCH_STORAGE_URL": f"sqlite:///{tmp_path}/pw.db"}


def test_check_rss_file_prints_one_story_per_entry_in_order(tmp_path: Path) -> None:
    result = run_cli("check", str(FIXTURES / "desk.xml"), "--json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    stories = result.json_lines()
    assert [s["url"] for s in stories] == [
        "https://desk.example/2023/11/22/gaza-truce",
        "https://desk.example/2023/11/22/rail-pay",
        "https://desk.example/2023/05/07/sudan-jeddah",
        "https://desk.example/2023/11/21/storm",
    ]
    labels = [s["mediation"]["label"] for s in stories]
    assert labels == ["mediation", "other", "mediation", "other"]
    gaza, _, sudan, _ = stories
    assert {"QA", "EG"} <= set(gaza["facts"]["mediators"])
    assert {"IL", "hamas"} <= set(gaza["facts"]["parties"])
    assert gaza["mediation"]["evidence"]
    assert {"SA", "US"} <= set(sudan["facts"]["mediators"])
    assert {"SD", "rsf"} <= set(sudan["facts"]["parties"])
    assert sudan["facts"]["event_date"] == "2023-05-06"
    for story in stories:
        assert set(story) >= {"id", "url", "title", "source", "published", "mediation", "facts"}
        assert 0.0 <= story["mediation"]["score"] <= 1.0
        assert not set(story["facts"]["mediators"]) & set(story["facts"]["parties"])


def test_check_text_file_with_title_and_date(tmp_path: Path) -> None:
    result = run_cli(
        "check",
        "--published",
        "2023-03-14",
        "--source",
        "Desk",
        str(FIXTURES / "call.txt"),
        "--json",
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    (story,) = result.json_lines()
    assert story["title"].startswith("Norway's foreign minister speaks")
    assert story["source"] == "Desk"
    assert story["mediation"]["label"] == "mediation"
    assert "NO" in story["facts"]["mediators"]
    assert {"CO", "eln"} <= set(story["facts"]["parties"])
    assert story["facts"]["event_date"] == "2023-03-13"
    assert story["published"].startswith("2023-03-14")


def test_check_reads_stdin_and_prints_readably(tmp_path: Path) -> None:
    text = (FIXTURES / "call.txt").read_text()
    result = run_cli("check", "--published", "2023-03-14", "-", cwd=tmp_path, stdin=text)
    assert result.code == 0, result.stderr
    assert "label: mediation" in result.stdout
    assert "NO" in result.stdout and "evidence:" in result.stdout


def test_same_input_gives_same_story_id(tmp_path: Path) -> None:
    args = ("check", "--published", "2023-03-14", str(FIXTURES / "call.txt"), "--json")
    first = run_cli(*args, cwd=tmp_path).json_lines()[0]
    second = run_cli(*args, cwd=tmp_path).json_lines()[0]
    assert first["id"] == second["id"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("check", "no-such-file.txt"), "no-such-file.txt: no such file"),
        (("check", "ftp://example.org/x"), "only http and https"),
        (("check", "--published", "someday", "-"), "--published"),
        (("eval", "missing.jsonl"), "missing.jsonl: cannot read"),
        (("check", "http://127.0.0.1:9/"), "127.0.0.1"),
    ],
)
def test_user_errors_are_one_line_without_traceback(
    tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    result = run_cli(*args, cwd=tmp_path, stdin="")
    assert result.code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_config_stops_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[fetch]\ntimeout = 'soon'\n")
    result = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert result.code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "fetch.timeout" in result.stderr and str(config) in result.stderr


def test_eval_json_matches_an_independent_scorer_over_check_output(tmp_path: Path) -> None:
    labelled = FIXTURES / "labelled.jsonl"
    evaluated = run_cli("eval", str(labelled), "--json", "--include-borderline", cwd=tmp_path)
    assert evaluated.code == 0, evaluated.stderr
    (figures,) = evaluated.json_lines()
    checked = run_cli("check", str(labelled), "--json", cwd=tmp_path)
    assert checked.code == 0, checked.stderr
    stories = checked.json_lines()
    records = [json.loads(line) for line in labelled.read_text().splitlines()]
    assert len(stories) == len(records) == figures["n"]

    tp = fp = fn = 0
    sets: dict[str, list[int]] = {k: [0, 0, 0] for k in ("mediators", "parties", "event_types")}
    dated = right = 0
    for record, story in zip(records, stories, strict=True):
        predicted = story["mediation"]["label"] == "mediation"
        gold = record["label"] == "mediation"
        tp += predicted and gold
        fp += predicted and not gold
        fn += gold and not predicted
        if not gold:
            continue
        for key, counts in sets.items():
            if key in record["facts"]:
                want, got = set(record["facts"][key]), set(story["facts"][key])
                counts[0] += len(want & got)
                counts[1] += len(got - want)
                counts[2] += len(want - got)
        if "event_date" in record["facts"]:
            dated += 1
            right += story["facts"]["event_date"] == record["facts"]["event_date"]
    det = figures["detection"]
    assert (det["tp"], det["fp"], det["fn"]) == (tp, fp, fn)
    for key, (t, f_p, f_n) in sets.items():
        precision = t / (t + f_p) if t + f_p else 0.0
        recall = t / (t + f_n) if t + f_n else 0.0
        assert figures["fields"][key]["precision"] == pytest.approx(precision, abs=1e-4)
        assert figures["fields"][key]["recall"] == pytest.approx(recall, abs=1e-4)
    assert figures["fields"]["event_date"]["accuracy"] == pytest.approx(right / dated, abs=1e-4)
    assert figures["entries_per_second"] > 0


def test_eval_leaves_borderline_out_by_default(tmp_path: Path) -> None:
    result = run_cli("eval", str(FIXTURES / "labelled.jsonl"), "--json", cwd=tmp_path)
    assert result.json_lines()[0]["n"] == 4


def test_eval_rejects_a_bad_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x", "published": "2023-01-01", "label": "mediation"}\n{oops\n')
    result = run_cli("eval", str(bad), cwd=tmp_path)
    assert result.code == 1
    assert f"{bad}:2: not valid JSON" in result.stderr


def test_seed_story_as_the_contract_describes(tmp_path: Path) -> None:
    seed = shared_path("seeds", "000_1f32e1f8f4bd38d7.txt")
    title = seed.read_text(encoding="utf-8").splitlines()[0]
    result = run_cli(
        "check", "--title", title, "--published", "2023-04-26", str(seed), "--json", cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    (story,) = result.json_lines()
    facts = story["facts"]
    assert story["mediation"]["label"] == "mediation"
    assert facts["mediators"] == ["CN"]
    assert {"UA", "RU"} <= set(facts["parties"]) and "CN" not in facts["parties"]
    assert "call" in facts["event_types"]
    assert {"offer", "envoy"} & set(facts["event_types"])
    assert facts["event_date"] == "2023-04-26"
    speakers = {q["speaker"] for q in facts["quotes"]}
    assert {"Volodymyr Zelensky", "John Kirby"} <= speakers
    assert {"US", "RU"} <= {s["actor"] for s in facts["stances"]}
    assert story["mediation"]["evidence"]


def test_eval_on_the_dev_set_meets_the_targets(tmp_path: Path) -> None:
    dev = shared_path("data", "labeled", "dev.jsonl")
    result = run_cli("eval", str(dev), "--json", cwd=tmp_path)
    assert result.code == 0, result.stderr
    (figures,) = result.json_lines()
    assert figures["detection"]["precision"] >= 0.90
    assert figures["detection"]["recall"] >= 0.85
    for field in ("mediators", "parties", "event_types"):
        assert figures["fields"][field]["f1"] >= 0.75, field
    assert figures["fields"]["event_date"]["accuracy"] >= 0.70


def test_gazetteer_extended_from_config(tmp_path: Path) -> None:
    story = (
        "Thailand hosts talks between Myanmar junta and the Arakan Brotherhood\n"
        "Envoys of Myanmar's military government and the Arakan Brotherhood met in Bangkok "
        "on Tuesday for ceasefire talks hosted by Thailand, officials said."
    )
    plain = run_cli(
        "check", "--published", "2023-12-14", "-", "--json", cwd=tmp_path, stdin=story
    ).json_lines()[0]
    assert "arakan-brotherhood" not in plain["facts"]["parties"]
    config = tmp_path / "c.toml"
    config.write_text(
        "feeds = []\n[[gazetteer.actors]]\n"
        'id = "arakan-brotherhood"\nname = "Arakan Brotherhood"\nkind = "nonstate"\n'
        'aliases = ["Brotherhood Alliance"]\n'
    )
    extended = run_cli(
        "check",
        "--config",
        str(config),
        "--published",
        "2023-12-14",
        "-",
        "--json",
        cwd=tmp_path,
        stdin=story,
    )
    assert extended.code == 0, extended.stderr
    facts = extended.json_lines()[0]["facts"]
    assert "arakan-brotherhood" in facts["parties"]
    assert "TH" in facts["mediators"]


def test_bad_gazetteer_entry_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('feeds = []\n[[gazetteer.actors]]\nname = "No id"\n')
    result = run_cli("check", "--config", str(config), "-", cwd=tmp_path, stdin="Title\nBody")
    assert result.code == 1
    assert "gazetteer" in result.stderr and "Traceback" not in result.stderr

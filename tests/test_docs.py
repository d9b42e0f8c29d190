"""The README and the documentation site's sources, checked without MkDocs.

`.ci/docs` builds the site with `mkdocs build --strict`; these checks are the quick part of
it that every test run can afford: the README's length and test command, relative links,
an API page per public package, a Colab badge per notebook, the repository's address.
"""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest'

spec = importlib.util.spec_from_file_location("mmkeras_docs_hooks", DOCS / "hooks.py")
hooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hooks)

# The addresses the README should use: pyproject.toml's [project.urls], else the placeholders.
_repository, _documentation = hooks.project_urls(str(ROOT))
REPOSITORY = _repository or hooks.REPOSITORY
DOCUMENTATION = _documentation or hooks.DOCUMENTATION

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def links(path):
    """The link targets of a Markdown file, outside code."""
    text = CODE_SPAN.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    found = LINK.findall(text)
    found += re.findall(r'<img[^>]*\ssrc="([^"]+)"', text)
    return found


def is_external(target):
    return re.match(r"^[a-z][a-z0-9+.-]*:", target) is not None or target.startswith("#")


def doc_pages():
    return sorted(DOCS.rglob("*.md"))


def public_packages():
    return sorted(p.parent.name for p in (ROOT / "mmkeras").glob("*/__init__.py")
                  if not p.parent.name.startswith("_"))


MOUNTED = set(hooks.mounted_files(str(ROOT)))


def site_has(page):
    """True when `page` (a path relative to docs/, with `/`) is in the built site:
    a file of docs/, a mounted repository file, or a placeholder page."""
    return (DOCS / page).is_file() or page in hooks.PLACEHOLDERS or page in MOUNTED


def test_readme_fits_on_a_few_screens():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_readme_test_command_is_what_ci_runs():
    readme = README.read_text(encoding="utf-8")
    assert TEST_COMMAND in readme.splitlines(), f"README.md must show `{TEST_COMMAND}`"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installs = [line for line in ci.splitlines()
                if "pip install" in line and not line.lstrip().startswith("#")]
    assert installs and all('-e ".[test]"' in line for line in installs), installs
    assert re.search(r"^python -m pytest\s*$", ci, re.MULTILINE), ".ci/run no longer runs it"


def test_readme_relative_links_exist():
    broken = [t for t in links(README)
              if not is_external(t) and not (ROOT / t.split("#")[0]).exists()]
    assert not broken, f"README.md links to missing files: {broken}"


def test_readme_links_into_the_site_name_pages_that_exist():
    readme = README.read_text(encoding="utf-8")
    base = re.escape(DOCUMENTATION)
    pages = re.findall(base + r"([^)\s>#]*)", readme)
    assert "" in pages, "README.md must link to the documentation site"
    missing = []
    for page in pages:
        page = page.strip("/")
        candidates = ["index.md"] if not page else [f"{page}.md", f"{page}/index.md"]
        if not any(site_has(c) for c in candidates):
            missing.append(page)
    assert not missing, f"README.md links to site pages that docs/ does not have: {missing}"


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_docs_relative_links_exist(page):
    broken = []
    for target in links(page):
        if is_external(target):
            continue
        path = target.split("#")[0]
        resolved = (page.parent / path).resolve()
        relative = resolved.relative_to(DOCS.resolve()).as_posix() if \
            resolved.is_relative_to(DOCS.resolve()) else None
        if relative is None or not site_has(relative):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


@pytest.mark.parametrize("package", public_packages())
def test_every_public_package_has_an_api_page(package):
    page = DOCS / "api" / f"{package}.md"
    assert page.is_file(), f"add docs/api/{package}.md with `::: mmkeras.{package}`"
    assert f"::: mmkeras.{package}" in page.read_text(encoding="utf-8")
    assert f"api/{package}.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), \
        f"add api/{package}.md to the nav of mkdocs.yml"


def test_mkdocs_nav_names_existing_pages():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:"):]
    pages = re.findall(r"(?:^\s*-\s*(?:[^:\n]+:\s*)?)([\w./-]+\.md)\s*$", nav, re.MULTILINE)
    assert pages and not [p for p in pages if not site_has(p)]
    assert f"Notebooks: {hooks.NOTEBOOK_NAV}" in nav


def test_every_notebook_has_a_colab_badge_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    repository = REPOSITORY.split("github.com/", 1)[1]
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [n for n in notebooks if
               f"colab.research.google.com/github/{repository}/blob/main/notebooks/{n})"
               not in readme]
    assert not missing, f"README.md has no Colab badge for {missing}"


def test_readme_names_the_repository_of_pyproject():
    """A fork sets `[project.urls]` in pyproject.toml; the site follows it, the README is
    edited by hand (docs/contributing.md, "A fork's repository URL")."""
    replacements = hooks.url_replacements(str(ROOT))
    if not replacements:
        pytest.skip("pyproject.toml names the placeholder repository (or none)")
    stale = [f"{i}: {line.strip()[:80]}" for i, line in
             enumerate(README.read_text(encoding="utf-8").splitlines(), 1)
             if any(old in line for old in replacements)]
    assert not stale, ("README.md still names " + ", ".join(replacements) + "; change to "
                       + ", ".join(replacements.values()) + " in lines:\n" + "\n".join(stale))

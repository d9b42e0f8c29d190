"""MkDocs hooks (`hooks:` in mkdocs.yml): what the site takes from outside `docs/`.

- `MOUNTS`: files of the repository shown at the same path in the site, without
  copies: the executed notebooks (rendered by mkdocs-jupyter, never re-run) and
  the committed figures of `results/`. A page links to them as if they sat in
  `docs/`, e.g. `notebooks/04_early_feature_late_fusion.ipynb` or
  `results/av_digits/accuracy.png`.
- The nav entry whose value is `NOTEBOOK_NAV` (`notebooks/*.ipynb`) becomes the
  list of mounted notebooks, with a "Solutions" section once
  `notebooks/solutions/` holds any: a new notebook needs no edit here.
- The repository and documentation addresses come from `[project.urls]` in
  `pyproject.toml` when it has them (`project_urls`): the site's repository link,
  and every page's links to `https://github.com/mmkeras/mmkeras`, its Colab
  links and `https://mmkeras.github.io/mmkeras/`, follow a fork's values.
- `PLACEHOLDERS`: pages that other work writes (none at present);
  until such a file exists in `docs/`, a short stand-in page keeps the links to
  it working. The real file, once there, always wins.

The module imports MkDocs inside the hooks only, so that `tests/test_docs.py`
reads `MOUNTS` and `PLACEHOLDERS` without MkDocs installed.
"""

import glob
import logging
import os

log = logging.getLogger("mkdocs.hooks.mmkeras")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Glob patterns, relative to the repository root.
MOUNTS = (
    "notebooks/*.ipynb",
    "notebooks/solutions/*.ipynb",
    "results/*/*.png",
)
NOTEBOOK_NAV = "notebooks/*.ipynb"

PLACEHOLDERS = {}


# The addresses the pages are written with.
REPOSITORY = "https://github.com/mmkeras/mmkeras"
DOCUMENTATION = "https://mmkeras.github.io/mmkeras/"
REPOSITORY_KEYS = ("repository", "source", "source code", "code", "homepage")
DOCUMENTATION_KEYS = ("documentation", "docs")


def project_urls(root=ROOT):
    """`(repository, documentation)` from `[project.urls]` in pyproject.toml; each
    `None` when absent (or on Python 3.10, which has no `tomllib`)."""
    try:
        import tomllib
    except ImportError:
        return None, None
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        urls = tomllib.load(f).get("project", {}).get("urls", {})
    urls = {key.lower(): value for key, value in urls.items()}
    repository = next((urls[k] for k in REPOSITORY_KEYS
                       if "github.com/" in urls.get(k, "")), None)
    documentation = next((urls[k] for k in DOCUMENTATION_KEYS if k in urls), None)
    if repository:
        repository = repository.rstrip("/").removesuffix(".git")
    if documentation and not documentation.endswith("/"):
        documentation += "/"
    return repository, documentation


def url_replacements(root=ROOT):
    """`{address in the pages: the project's address}`, for those that differ."""
    repository, documentation = project_urls(root)
    pairs = {}
    if repository and repository != REPOSITORY:
        pairs[REPOSITORY] = repository
        slug = lambda url: url.split("github.com/", 1)[1]  # noqa: E731
        pairs["colab.research.google.com/github/" + slug(REPOSITORY)] = \
            "colab.research.google.com/github/" + slug(repository)
    if documentation and documentation != DOCUMENTATION:
        pairs[DOCUMENTATION] = documentation
    return pairs


def mounted_files(root=ROOT):
    """The repository paths (with `/`) that `MOUNTS` puts into the site, sorted."""
    found = set()
    for pattern in MOUNTS:
        for path in glob.glob(os.path.join(root, pattern)):
            found.add(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(found)


def notebook_nav(root=ROOT):
    """The nav entries of the notebooks: the numbered ones, then their solutions."""
    paths = [p for p in mounted_files(root) if p.endswith(".ipynb")]
    nav = [p for p in paths if p.count("/") == 1]
    solutions = [p for p in paths if p.startswith("notebooks/solutions/")]
    if solutions:
        nav.append({"Solutions": solutions})
    return nav


def _expand_nav(items):
    for i, item in enumerate(items):
        if isinstance(item, dict):
            for title, value in item.items():
                if value == NOTEBOOK_NAV:
                    item[title] = notebook_nav()
                elif isinstance(value, list):
                    _expand_nav(value)
        elif item == NOTEBOOK_NAV:
            items[i:i + 1] = notebook_nav()


def on_config(config, **kwargs):
    _expand_nav(config["nav"] or [])
    repository, documentation = project_urls()
    if repository:
        config["repo_url"] = repository
    if documentation:
        config["site_url"] = documentation
    return config


def on_page_markdown(markdown, **kwargs):
    for old, new in url_replacements().items():
        markdown = markdown.replace(old, new)
    return markdown


def on_files(files, config, **kwargs):
    from mkdocs.structure.files import File

    for path in mounted_files():
        if files.get_file_from_path(path) is None:
            # A File whose source folder is the repository root (not File.generated:
            # mkdocs-jupyter's wrapper finds the path through `src_dir`).
            files.append(File(path, src_dir=ROOT, dest_dir=config["site_dir"],
                              use_directory_urls=config["use_directory_urls"]))
    for page, text in PLACEHOLDERS.items():
        if files.get_file_from_path(page) is None:
            log.info("docs/%s is not written yet: a placeholder page stands in", page)
            files.append(File.generated(config, page, content=text))
    return files


# Before every plugin's on_files, so that mkdocs-jupyter sees the notebooks
# (MkDocs runs hooks after plugins unless told otherwise; 100 is "first").
on_files.mkdocs_priority = 100

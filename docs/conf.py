"""Sphinx configuration of the steepest documentation site.

Build (offline, warnings as errors)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorials under ``tutorials/`` are MyST markdown notebooks executed at build time by myst-nb,
with a cache in ``docs/_build/.jupyter_cache`` so that an unchanged notebook is not run again.
MathJax is served from the build itself (copied from the ``django-static-mathjax`` package), so
every page, formulas included, works without a network.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import steepest

# Bind st.minimize to the function before anything imports the module steepest.minimize (which
# would otherwise leave the package attribute pointing at the module, and autosummary would
# document the module in the function's place).
steepest.minimize  # noqa: B018

project = "steepest"
author = "The steepest developers"
copyright = "2026, The steepest developers"
release = steepest.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
html_static_path = ["_static"]

# --- API reference ------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autosummary_ignore_module_all = False  # a package page documents the names in its __all__
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections already state the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_xref_ignore = {"optional", "default", "or", "of", "shape", "array_like", "callable", "the",
                        "same", "as", "a", "an", "and", "one", "any", "with", "to", "is", "in", "if"}

nitpicky = True
# Third-party and typing names that intersphinx cannot resolve offline (the inventories are not
# downloaded: the build never touches the network).
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|sklearn|matplotlib|pandas|dask|distributed|tqdm|starlette)(\..*)?"),
    (r"py:.*", r"(typing|collections\.abc|abc|pathlib|os|io|contextlib|argparse|sqlite3)(\..*)?"),
    (r"py:class", r"steepest\..*\._\w+"),  # private base classes named by show-inheritance
    (r"py:class", r"(ndarray|array_like|array-like|ArrayLike|DataFrame|Figure|Axes|Path|PathLike)"),
    (r"py:class", r"(int|float|bool|str|bytes|dict|list|tuple|set|object|None|type|callable|"
                  r"Callable|Iterable|Iterator|Sequence|Mapping|Any|optional|default.*)"),
]
intersphinx_mapping: dict = {}  # offline build: no inventories are fetched

# --- notebooks -----------------------------------------------------------------------------------
nb_execution_mode = "cache"
nb_execution_cache_path = str(Path(__file__).parent / "_build" / ".jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]

# --- HTML ----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "steepest"
html_theme_options = {
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "icon_links": [],
    "show_toc_level": 2,
}
mathjax_path = "mathjax/tex-svg.js"


def _copy_mathjax(app, exception):  # noqa: ARG001 (Sphinx's signature)
    """Serve MathJax from the site itself (offline): copy its self-contained SVG bundle."""
    if exception is not None or app.builder.format != "html":
        return
    source = resources.files("mathjax") / "static" / "mathjax" / "es5" / "tex-svg.js"
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    with resources.as_file(source) as path:
        shutil.copyfile(path, target / "tex-svg.js")


def _documented_objects(env):
    """Map id(object) -> the name under which the API reference documents it."""
    import importlib

    found = {}
    for name, _obj in env.get_domain("py").objects.items():
        obj = _import(name, importlib)
        if obj is not None and not isinstance(obj, (str, int, float, bool, type(None))):
            found.setdefault(id(obj), name)
    return found


def _import(dotted, importlib):
    """The object a dotted name refers to, or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def _resolve_alias(app, env, node, contnode):
    """Resolve a reference to a re-exported name (``steepest.Tensor``, or ``save`` inside
    steepest.io) to the page that documents the object under its canonical name."""
    import importlib

    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if not hasattr(env, "_steepest_documented"):
        env._steepest_documented = _documented_objects(env)
    context = [node.get("py:module"), node.get("py:class")]
    candidates = [target]
    if context[0]:
        candidates.append(f"{context[0]}.{target}")
        if context[1]:
            candidates.append(f"{context[0]}.{context[1]}.{target}")
    for candidate in candidates:
        obj = _import(candidate, importlib)
        name = obj is not None and env._steepest_documented.get(id(obj))
        if name:
            return env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, "obj", name,
                                                     node, contnode)
    return None


def _skip_sklearn_routing(app, what, name, obj, skip, options):  # noqa: ARG001
    """scikit-learn generates ``set_*_request`` methods on every estimator; its own docs cover
    them (and their docstrings point into scikit-learn's glossary, which this site lacks)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_routing)
    app.connect("build-finished", _copy_mathjax)
    app.connect("missing-reference", _resolve_alias)

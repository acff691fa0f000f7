"""Archive index recipes: which FAISS index an archive of a given size gets, as data.

    recipes = load_recipes()                 # indexes/*.toml, sorted by size range
    recipe = choose_recipe(250_000, recipes) # -> the "hnsw" recipe
    index = recipe.new_index(n=250_000, dim=512)

A recipe file names its ``kind`` (an entry of ``INDEX_KINDS``), the archive sizes it is meant for
(``min_vectors`` inclusive, ``max_vectors`` exclusive) and its ``[params]``. The ranges of all
recipes must tile [0, infinity) without gaps or overlaps, so every archive size has exactly one.
Build-time parameters (HNSW ``M``, IVF ``nlist``, PQ size) shape the file; search-time ones
(``ef_search``, ``nprobe``, ``k_factor``) are applied when an index is loaded.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import InvalidArgumentError
from ..registry import Registry

# kind -> (build an empty index for n vectors of dim d, apply search parameters to a loaded one)
INDEX_KINDS: Registry[tuple[Callable[..., Any], Callable[..., None]]] = Registry("archive index kind")


@dataclass(frozen=True)
class Recipe:
    name: str
    kind: str  # "flat" | "hnsw" | "ivfpq"
    min_vectors: int = 0
    max_vectors: int | None = None  # None: no upper bound
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = ""  # the TOML file it came from

    @property
    def persisted(self) -> bool:
        """Flat archives are searched exactly from their segments; other kinds are built into a file."""
        return self.kind != "flat"

    @property
    def max_tail_vectors(self) -> int:
        """Vectors newer than the index searched exactly beside it before the index is extended."""
        return int(self.params.get("max_tail_vectors", 20_000))

    def fits(self, n: int) -> bool:
        return self.min_vectors <= n and (self.max_vectors is None or n < self.max_vectors)

    def build_params(self, n: int, dim: int) -> dict[str, Any]:
        """The parameters for an index over ``n`` vectors of dimension ``dim`` (sizes resolved)."""
        params = dict(self.params)
        if self.kind == "ivfpq":
            nlist = params.get("nlist") or _pow2(params.get("nlist_per_sqrt_n", 2.0) * math.sqrt(max(n, 1)))
            nlist = int(min(max(nlist, params.get("nlist_min", 16)), params.get("nlist_max", 65536)))
            params["nlist"] = max(1, min(nlist, max(1, n // 39)))  # FAISS wants >= 39 training points per list
            params["pq_m"] = _divisor_at_most(dim, int(params.get("pq_m", 64)))
            params["trained_n"] = n
        return params

    def new_index(self, n: int, dim: int, params: dict[str, Any] | None = None):
        build, _ = INDEX_KINDS.get(self.kind)
        return build(dim, params if params is not None else self.build_params(n, dim))


def _pow2(x: float) -> int:
    return 1 << max(0, round(math.log2(max(x, 1.0))))


def _divisor_at_most(dim: int, m: int) -> int:
    """The largest divisor of ``dim`` not above ``m`` (PQ splits a vector into equal parts)."""
    return next(k for k in range(max(1, min(m, dim)), 0, -1) if dim % k == 0)


def apply_search_params(index: Any, kind: str, params: dict[str, Any]) -> None:
    _, apply = INDEX_KINDS.get(kind)
    apply(index, params)


# --- kinds ---------------------------------------------------------------------------------------


def _build_hnsw(dim: int, params: dict[str, Any]):
    import faiss

    inner = faiss.IndexHNSWFlat(dim, int(params.get("M", 32)), faiss.METRIC_INNER_PRODUCT)
    inner.hnsw.efConstruction = int(params.get("ef_construction", 80))
    return faiss.IndexIDMap2(inner)


def _search_hnsw(index: Any, params: dict[str, Any]) -> None:
    import faiss

    faiss.downcast_index(index.index).hnsw.efSearch = int(params.get("ef_search", 64))


def _build_ivfpq(dim: int, params: dict[str, Any]):
    import faiss

    bits = int(params.get("pq_bits", 4))
    code = f"PQ{params['pq_m']}x4fs" if bits == 4 else f"PQ{params['pq_m']}x{bits}"
    refine = params.get("refine", "SQ8")
    spec = f"IVF{params['nlist']},{code}" + (f",Refine({refine})" if refine else "")
    return faiss.IndexIDMap2(faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT))


def _search_ivfpq(index: Any, params: dict[str, Any]) -> None:
    import faiss

    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexRefine):
        inner.k_factor = float(params.get("k_factor", 8))
    faiss.extract_index_ivf(inner).nprobe = int(params.get("nprobe", 32))


def _build_flat(dim: int, params: dict[str, Any]):
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _search_flat(index: Any, params: dict[str, Any]) -> None:
    pass


INDEX_KINDS.register("flat", (_build_flat, _search_flat))
INDEX_KINDS.register("hnsw", (_build_hnsw, _search_hnsw))
INDEX_KINDS.register("ivfpq", (_build_ivfpq, _search_ivfpq))


# --- loading -------------------------------------------------------------------------------------


def recipes_folder() -> Path:
    from ..config import data_dir

    return data_dir("indexes")


def load_recipes(folder: str | Path | None = None) -> list[Recipe]:
    """Every ``*.toml`` recipe in ``folder`` (default: longvid's ``indexes/``), checked and sorted."""
    folder = Path(folder) if folder is not None else recipes_folder()
    recipes = []
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidArgumentError(f"{path}: not valid TOML ({exc})") from None
        recipes.append(recipe_from_dict(path.stem, data, source=str(path)))
    return check_recipes(recipes, str(folder))


def recipe_from_dict(name: str, data: dict[str, Any], source: str = "") -> Recipe:
    where = source or name
    unknown = sorted(set(data) - {"kind", "min_vectors", "max_vectors", "params", "description"})
    if unknown:
        raise InvalidArgumentError(f"{where}: unknown key {unknown[0]!r}", "recipes take kind, min_vectors, max_vectors, params, description")
    kind = data.get("kind")
    if kind not in INDEX_KINDS:
        raise InvalidArgumentError(f"{where}: kind = {kind!r} is invalid", f"use one of: {', '.join(INDEX_KINDS.names())}")
    low, high = data.get("min_vectors", 0), data.get("max_vectors")
    if not isinstance(low, int) or low < 0 or (high is not None and (not isinstance(high, int) or high <= low)):
        raise InvalidArgumentError(f"{where}: min_vectors = {low!r}, max_vectors = {high!r} is not a size range", "expected 0 <= min < max")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise InvalidArgumentError(f"{where}: [params] must be a table")
    return Recipe(name, kind, low, high, dict(params), str(data.get("description", "")), source)


def check_recipes(recipes: list[Recipe], where: str) -> list[Recipe]:
    """Sorted by range; the ranges must cover every size exactly once."""
    if not recipes:
        raise InvalidArgumentError(f"no index recipes in {where}", "restore indexes/*.toml (flat, hnsw, ivfpq)")
    recipes = sorted(recipes, key=lambda r: r.min_vectors)
    expected = 0
    for recipe in recipes:
        if recipe.min_vectors != expected:
            raise InvalidArgumentError(
                f"{recipe.source or recipe.name}: min_vectors = {recipe.min_vectors} leaves a gap or overlap",
                f"the previous recipe ends at {expected}",
            )
        if recipe.max_vectors is None and recipe is not recipes[-1]:
            raise InvalidArgumentError(f"{recipe.source or recipe.name}: only the largest recipe may have no max_vectors")
        expected = recipe.max_vectors if recipe.max_vectors is not None else -1
    if recipes[-1].max_vectors is not None:
        raise InvalidArgumentError(f"{recipes[-1].source or recipes[-1].name}: the largest recipe must have no max_vectors")
    return recipes


def choose_recipe(n: int, recipes: list[Recipe] | None = None) -> Recipe:
    """The recipe for an archive of ``n`` vectors."""
    for recipe in recipes if recipes is not None else load_recipes():
        if recipe.fits(n):
            return recipe
    raise InvalidArgumentError(f"no index recipe covers {n} vectors")

"""Classification: tags, labels and comments → one normalised ``data_class``, from config."""

from __future__ import annotations

from collections.abc import Mapping

from phigate.api import Resource
from phigate.config import Config


class Classifier:
    """Decides a resource's data class: the first configured tag key that is present wins;
    its value maps through the configured table (case-insensitive); then name patterns; else
    ``unclassified``. An explicit ``data_class`` set by the source is kept."""

    def __init__(self, config: Config) -> None:
        self._keys = tuple(k.lower() for k in config.classification_keys)
        self._values: dict[str, str] = {
            value.strip().lower(): data_class
            for data_class, values in config.classification_values.items() for value in values
        }
        self._rules = config.name_rules

    def data_class(self, resource: Resource) -> str:
        found = self._from_tags(resource.tags)
        if found is not None:
            return found
        name = resource.name or resource.id
        for rule in self._rules:
            if (not rule.kinds or resource.kind in rule.kinds) and rule.pattern.search(name):
                return rule.data_class
        return "unclassified"

    def _from_tags(self, tags: Mapping[str, str]) -> str | None:
        if not tags:
            return None
        value = tags.get(self._keys[0])  # the usual case: the first key, spelt as configured
        if value is not None:
            return self._values.get(str(value).strip().lower(), "unclassified")
        lowered = {str(k).lower(): v for k, v in tags.items()}
        for key in self._keys:
            if key in lowered:
                return self._values.get(str(lowered[key]).strip().lower(), "unclassified")
        return None

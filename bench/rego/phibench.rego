# Five rules of the health pack in Rego, for bench/engine.py: the same decisions on the same
# generated estate (input: the JSON array of its resources, as in a phigate snapshot).
# Rego has no third value: a rule below fails a resource only when the attribute it needs is
# present and wrong, which is what phigate reports as `fail` (absent attributes: `error`).
#   data.phibench.enc_001 … seg_002 -> set of failing resource ids (one set per policy id;
#   `fail` gathers them all, but asking for it computes every rule)
package phibench

import rego.v1

stores := {"object_store", "table", "volume", "database"}

# The classification step's defaults: tag data_class, values mapped case-insensitively.
tag_classes := {
	"clinical": "clinical", "clinical_notes": "clinical", "phi": "clinical", "health": "clinical",
	"administrative": "administrative", "admin": "administrative", "pii": "administrative",
	"public": "public",
}

class_of(r) := r.data_class if r.data_class != null

class_of(r) := c if {
	r.data_class == null
	c := object.get(tag_classes, lower(trim_space(r.tags.data_class)), "unclassified")
}

class_of(r) := "unclassified" if {
	r.data_class == null
	not r.tags.data_class
}

# --- PHI-ENC-001: data stores are encrypted at rest ---
enc_001 contains r.id if {
	some r in input
	r.kind in stores
	r.attributes.encryption.at_rest != true
}

# --- PHI-ENC-002: clinical stores use customer-managed keys ---
enc_002 contains r.id if {
	some r in input
	r.kind in stores
	class_of(r) == "clinical"
	r.attributes.encryption.at_rest != true
}

enc_002 contains r.id if {
	some r in input
	r.kind in stores
	class_of(r) == "clinical"
	r.attributes.encryption.key_manager != "customer"
}

# --- PHI-ENC-003: customer-managed keys rotate ---
enc_003 contains r.id if {
	some r in input
	r.kind == "key"
	r.attributes.manager == "customer"
	r.attributes.symmetric == true
	r.attributes.state == "Enabled"
	r.attributes.rotation_enabled != true
}

# --- PHI-IAM-002: data stores are not public ---
exposable := {"object_store", "database", "table", "volume"}

iam_002 contains r.id if {
	some r in input
	r.kind in exposable
	r.attributes.public_access.blocked != true
}

iam_002 contains r.id if {
	some r in input
	r.kind in exposable
	count(r.attributes.public_access.grants) != 0
}

# --- PHI-SEG-002: no identity reads both clinical and administrative data (a reference rule) ---
clinical_stores contains r.id if {
	some r in input
	r.kind in stores
	class_of(r) == "clinical"
}

administrative_stores contains r.id if {
	some r in input
	r.kind in stores
	class_of(r) == "administrative"
}

bootstrap(r) if {
	startswith(r.id, "postgres://")
	r.name == "postgres"
}

seg_002 contains r.id if {
	some r in input
	r.kind == "principal"
	not bootstrap(r)
	some c in r.attributes.can_read
	clinical_stores[c]
	some a in r.attributes.can_read
	administrative_stores[a]
}

fail := {
	"PHI-ENC-001": enc_001,
	"PHI-ENC-002": enc_002,
	"PHI-ENC-003": enc_003,
	"PHI-IAM-002": iam_002,
	"PHI-SEG-002": seg_002,
}

# The example policy pack: who may do what to a release.
# Query: data.companyos.authz  →  {"allow": bool, "reasons": [string]}
package companyos.authz

import rego.v1

default allow := false

allow if {
	some role in input.subject.roles
	some permitted in data.permissions[role]
	permitted == input.action
	not frozen
}

frozen if {
	input.action in data.frozen_actions
}

reasons contains sprintf("role %s permits %s", [role, input.action]) if {
	some role in input.subject.roles
	input.action in data.permissions[role]
	not frozen
}

reasons contains sprintf("action %s is frozen by policy", [input.action]) if frozen

reasons contains sprintf("no role of %s permits %s", [input.subject.user, input.action]) if {
	not frozen
	not allow
}

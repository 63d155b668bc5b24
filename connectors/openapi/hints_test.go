package openapi

import (
	"strings"
	"testing"

	httpconn "github.com/weftio/weft/connectors/http"
)

// Operations shaped like GitHub's (the ones issue 16 names), written for
// this test, plus x-weft-annotations overrides.
const annotated = `
openapi: 3.0.3
info: {title: Hints, version: "1"}
paths:
  /credentials/revoke:
    post: {operationId: credentials/revoke, summary: Revoke a list of credentials, responses: {"202": {description: ok}}}
  /orgs/{org}/attestations/delete-request:
    post: {operationId: orgs/delete-attestations-bulk, summary: Delete attestations in bulk, responses: {"200": {description: ok}}}
  /orgs/{org}/projects/{id}/items/bulk-remove:
    post: {summary: Take items out of a project, responses: {"200": {description: ok}}}
  /markdown:
    post: {operationId: markdown/render, summary: Render a Markdown document, responses: {"200": {description: ok}}}
  /markdown/raw:
    post: {operationId: markdown/render-raw, summary: Render a Markdown document in raw mode, responses: {"200": {description: ok}}}
  /user/starred/{owner}/{repo}:
    put: {operationId: activity/star-repo-for-authenticated-user, summary: Star a repository for the authenticated user, responses: {"204": {description: ok}}}
    delete: {operationId: activity/unstar-repo-for-authenticated-user, summary: Unstar a repository, responses: {"204": {description: ok}}}
  /repos/{owner}/{repo}/collaborators/{username}:
    put: {operationId: repos/add-collaborator, summary: Add a repository collaborator, responses: {"201": {description: ok}}}
  /repos/{owner}/{repo}/contents/{path}:
    put: {operationId: repos/create-or-update-file-contents, summary: Create or update file contents, responses: {"200": {description: ok}}}
  /repos/{owner}/{repo}/topics:
    put: {operationId: repos/replace-all-topics, summary: Replace all repository topics, responses: {"200": {description: ok}}}
    get: {operationId: repos/get-all-topics, summary: Get all repository topics, responses: {"200": {description: ok}}}
  /app/installations/{id}/access_tokens:
    post: {operationId: apps/create-installation-access-token, summary: Get an installation access token, responses: {"201": {description: ok}}}
  /actions/runs/{id}/cancel:
    post: {operationId: actions/cancel-workflow-run, summary: Cancel a workflow run, responses: {"202": {description: ok}}}
  /issues:
    post: {operationId: issues/create, summary: Create an issue, responses: {"201": {description: ok}}}
  /issues/{n}:
    patch: {operationId: issues/update, summary: Update an issue, responses: {"200": {description: ok}}}
  /jobs/{id}/archive:
    post:
      operationId: archiveJob
      summary: Archive a job
      x-weft-annotations: {destructive: true}
      responses: {"200": {description: ok}}
  /settings/{id}:
    put:
      operationId: putSetting
      summary: Store a setting
      x-weft-annotations: {destructive: false, idempotent: true}
      responses: {"200": {description: ok}}
  /reports:
    post:
      operationId: buildReport
      x-weft-annotations: {read_only: true}
      responses: {"200": {description: ok}}
  /bad:
    post:
      operationId: badAnnotations
      x-weft-annotations: {read_only: yes please}
      responses: {"200": {description: ok}}
`

// F17: hints come from the operation's words too, not the method alone,
// and an x-weft-annotations extension overrides them per operation.
func TestIssue16_F17_AnnotationsFromOperationWords(t *testing.T) {
	c, rep, err := Import("gh", []byte(annotated), httpconn.New(httpconn.Options{}).Operations[0])
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ readOnly, destructive, idempotent bool }
	for name, w := range map[string]want{
		"credentials_revoke":                                {false, true, false},
		"orgs_delete-attestations-bulk":                     {false, true, false},
		"post_orgs_by_org_projects_by_id_items_bulk-remove": {false, true, false},
		"markdown_render":                                   {true, false, true},
		"markdown_render-raw":                               {true, false, true},
		"activity_star-repo-for-authenticated-user":         {false, false, true},
		"activity_unstar-repo-for-authenticated-user":       {false, true, true},
		"repos_add-collaborator":                            {false, false, true},
		"repos_create-or-update-file-contents":              {false, true, true},
		"repos_replace-all-topics":                          {false, true, true},
		"repos_get-all-topics":                              {true, false, true},
		"apps_create-installation-access-token":             {false, false, false},
		"actions_cancel-workflow-run":                       {false, true, false},
		"issues_create":                                     {false, false, false},
		"issues_update":                                     {false, false, false},
		"archiveJob":                                        {false, true, false},
		"putSetting":                                        {false, false, true},
		"buildReport":                                       {true, false, false},
	} {
		o := op(c, name)
		if o == nil {
			t.Errorf("%s: not imported", name)
			continue
		}
		if got := (want{o.Hints.ReadOnly, o.Hints.Destructive, o.Hints.Idempotent}); got != w {
			t.Errorf("%s: read_only=%v destructive=%v idempotent=%v, want %+v", name, got.readOnly, got.destructive, got.idempotent, w)
		}
	}
	var bad bool
	for _, r := range rep.Rejected {
		if strings.Contains(r.Operation, "/bad") && strings.Contains(r.Reason, "x-weft-annotations") {
			bad = true
		}
	}
	if !bad {
		t.Errorf("a malformed x-weft-annotations must reject its operation with a reason: %+v", rep.Rejected)
	}
}

// hints.yaml: every group known, no word in two groups.
func TestHintWordsOneGroupEach(t *testing.T) {
	if _, err := parseWordGroups(hintsYAML); err != nil {
		t.Fatal(err)
	}
	if _, err := parseWordGroups([]byte("destructive: [drop]\nread_only: [drop]\n")); err == nil {
		t.Fatal("a word in two groups must be refused")
	}
	if _, err := parseWordGroups([]byte("dangerous: [x]\n")); err == nil {
		t.Fatal("an unknown group must be refused")
	}
	for _, w := range []string{"delete", "render", "star", "update"} {
		if wordGroups()[w] == "" {
			t.Errorf("%q missing from hints.yaml", w)
		}
	}
}

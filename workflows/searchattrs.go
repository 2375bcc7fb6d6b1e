package workflows

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
)

// SearchAttributeTypes are Lift's custom search attributes and their types.
var SearchAttributeTypes = map[string]enumspb.IndexedValueType{
	CustomerIDKey.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	CampaignIDKey.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	VariantKey.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SequenceStatusKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	EmailsSentKey.GetName():     enumspb.INDEXED_VALUE_TYPE_INT,
	NextEmailAtKey.GetName():    enumspb.INDEXED_VALUE_TYPE_DATETIME,
}

// MissingSearchAttributesError names the search attributes a namespace
// lacks and says how to create them: Temporal Cloud (and a cluster that
// does not let Lift's credentials use the operator service) refuses to
// let Lift add them itself.
type MissingSearchAttributesError struct {
	Namespace string
	Missing   []string // sorted
	// Cause is why Lift could not add them, if it tried.
	Cause error
}

func (e *MissingSearchAttributesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "namespace %s lacks Lift's search attributes %s", e.Namespace, strings.Join(e.Missing, ", "))
	if e.Cause != nil {
		fmt.Fprintf(&b, ", and Temporal did not let Lift add them (%v)", e.Cause)
	}
	b.WriteString("; create them, then run lift migrate again.\n  On Temporal Cloud:\n    tcld namespace search-attributes add --namespace " + e.Namespace)
	for _, n := range e.Missing {
		fmt.Fprintf(&b, " --search-attribute %s=%s", n, typeName(SearchAttributeTypes[n]))
	}
	b.WriteString("\n  On a self-hosted cluster:")
	for _, n := range e.Missing {
		fmt.Fprintf(&b, "\n    temporal operator search-attribute create --namespace %s --name %s --type %s", e.Namespace, n, typeName(SearchAttributeTypes[n]))
	}
	return b.String()
}

// typeName is a search attribute type as tcld and the temporal CLI write it.
func typeName(t enumspb.IndexedValueType) string {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return "Keyword"
	case enumspb.INDEXED_VALUE_TYPE_INT:
		return "Int"
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		return "Datetime"
	}
	return t.String()
}

// CheckSearchAttributes reports the search attributes the namespace lacks
// as a *MissingSearchAttributesError; the worker refuses to start without
// them, since its workflows set them.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	missing, err := missingSearchAttributes(ctx, c, namespace)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		names := slices.Sorted(maps.Keys(missing))
		return &MissingSearchAttributesError{Namespace: namespace, Missing: names}
	}
	return nil
}

// RegisterSearchAttributes adds whichever of Lift's search attributes the
// namespace lacks. It is idempotent; `lift dev` calls it at every start and
// `lift migrate` in production. Where Temporal refuses (Temporal Cloud),
// the error is a *MissingSearchAttributesError with the commands to run.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	missing, err := missingSearchAttributes(ctx, c, namespace)
	if err != nil || len(missing) == 0 {
		return err
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return &MissingSearchAttributesError{Namespace: namespace, Missing: slices.Sorted(maps.Keys(missing)), Cause: err}
	}
	return nil
}

// missingSearchAttributes lists Lift's search attributes the namespace
// lacks, by the operator service, or, where that is refused, by asking
// visibility about each one.
func missingSearchAttributes(ctx context.Context, c client.Client, namespace string) (map[string]enumspb.IndexedValueType, error) {
	missing := map[string]enumspb.IndexedValueType{}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if code := serviceerror.ToStatus(err).Code(); code == codes.PermissionDenied || code == codes.Unimplemented {
		return missingByQuery(ctx, c, namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("list search attributes: %w", err)
	}
	for name, typ := range SearchAttributeTypes {
		existing, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case existing != typ:
			return nil, fmt.Errorf("search attribute %s exists with type %s, Lift needs %s", name, typeName(existing), typeName(typ))
		}
	}
	return missing, nil
}

// missingByQuery asks visibility to count workflows by each attribute: an
// unknown one is an invalid query.
func missingByQuery(ctx context.Context, c client.Client, namespace string) (map[string]enumspb.IndexedValueType, error) {
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributeTypes {
		value := "''"
		switch typ {
		case enumspb.INDEXED_VALUE_TYPE_INT:
			value = "0"
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			value = "'2000-01-01T00:00:00Z'"
		}
		_, err := c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: namespace, Query: name + " = " + value})
		switch serviceerror.ToStatus(err).Code() {
		case codes.OK:
		case codes.InvalidArgument:
			missing[name] = typ
		default:
			return nil, fmt.Errorf("check search attribute %s: %w", name, err)
		}
	}
	return missing, nil
}

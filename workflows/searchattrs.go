package workflows

import (
	"context"
	"fmt"
	"sort"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
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

// RegisterSearchAttributes adds whichever of Lift's search attributes the
// namespace lacks. It is idempotent; `lift dev` calls it at every start and
// a production deployment runs it once (or uses `temporal operator
// search-attribute create`).
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	names := make([]string, 0, len(SearchAttributeTypes))
	for name := range SearchAttributeTypes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		typ := SearchAttributeTypes[name]
		existing, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = typ
		case existing != typ:
			return fmt.Errorf("search attribute %s exists with type %s, Lift needs %s", name, existing, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

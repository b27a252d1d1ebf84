/**
 * The one spelling of "every namespace" where an operator lists namespaces
 * (a receiver's `namespaces`, the status page's publish list): an empty or
 * missing list means nothing, never everything, so that forgetting a filter
 * cannot widen it to every tenant.
 */
export const ALL_NAMESPACES = '*';

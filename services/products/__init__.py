"""Products as clients read them: queries with filters and pages (queries), and the views that build
the API's answers and each product's explanation (views). Imports schemas and models only."""

"""phigate's built-in providers. Each imports its SDK only inside its own module."""

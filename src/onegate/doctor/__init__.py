"""`onegate doctor`: a client-side check of base URL + key + model, in the order support uses, with evidence."""

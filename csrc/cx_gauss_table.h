/* crossent: dispatch table of the Gaussian / Poisson family (placeholder). */

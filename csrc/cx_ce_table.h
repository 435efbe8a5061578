/* crossent: dispatch table of the cross-entropy family (placeholder). */

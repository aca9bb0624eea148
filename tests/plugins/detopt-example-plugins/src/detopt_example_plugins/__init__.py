"""Example detopt plugins (a runner, an optimizer and a problem) in a package of their own."""

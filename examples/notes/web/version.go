package main

// Version is shown on the page and served at /version. Edit it to see a
// change travel from your editor to the cluster.
const Version = "v1"

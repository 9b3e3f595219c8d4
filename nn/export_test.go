package nn

// SetChunkImages sets the images per chunk of net's batches (ChunkImages by default), so
// that tests can cut small batches into several chunks.
func SetChunkImages(net *Network, n int) {
	net.chunkImages = n
	net.batch = 0 // re-chunk on the next pass
}

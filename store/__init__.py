"""What is true: records, repositories, Redis keys and scripts."""

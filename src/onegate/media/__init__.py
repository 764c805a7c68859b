"""Images and video tasks: the media surfaces, their durable tasks, upstream adapters and signed callbacks."""
